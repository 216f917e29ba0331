import { callScript, type RedisClient } from '../infra/redis.ts'
import { replicated } from '../infra/replica-wait.ts'
import { createTurnBatcher } from '../infra/turn-batcher.ts'
import type { AdmitResult, Refusal } from './admission.ts'
import { productKeys } from './keys.ts'

const REFUSALS: Record<number, Refusal> = {
  [-1]: 'product_not_found',
  [-2]: 'not_started',
  [-3]: 'ended',
  [-4]: 'already_purchased',
  [-5]: 'sold_out',
}

/** Attempts per script call: keeps one call short (Redis is single-threaded) and well under Lua's limits. */
const MAX_ATTEMPTS_PER_CALL = 500
/** Attempts waiting for Redis in this process, past which an attempt is refused (503) rather than queued. */
const MAX_PENDING_ATTEMPTS = 50_000

interface Attempt {
  userId: string
  admissionId: string
}

/**
 * Group commit for admissions. Every attempt on a product that arrives in the same event-loop turn goes to
 * Redis with the others as ONE script call, decided one by one in arrival order, and each caller gets its own
 * answer once Redis has decided. A hot product lives on one Redis shard (one hash tag), so what one attempt
 * costs there bounds the whole sale: a batch pays the script's fixed cost once.
 */
export function createAdmissionBatcher(redis: RedisClient, prefix: string) {
  const batcher = createTurnBatcher<number, Attempt, AdmitResult>({
    maxBatch: MAX_ATTEMPTS_PER_CALL,
    maxPending: MAX_PENDING_ATTEMPTS,
    async send(productId, attempts) {
      const keys = productKeys(prefix, productId)
      const args: string[] = []
      for (const a of attempts) args.push(a.userId, a.admissionId)
      const reply = await callScript<number[]>(redis, 'admitBuyers', [keys.product, keys.buyers], args)
      await replicated(redis)
      const admittedAt = reply[0] as number
      return attempts.map((_, i): AdmitResult => {
        const code = reply[i + 1]
        return code === 1
          ? { admitted: true, admittedAt }
          : { admitted: false, refusal: REFUSALS[code as number] ?? 'product_not_found' }
      })
    },
  })
  return (productId: number, userId: string, admissionId: string): Promise<AdmitResult> =>
    batcher.add(productId, { userId, admissionId })
}
