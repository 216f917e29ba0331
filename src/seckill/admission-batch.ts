import { callScript, type RedisClient } from '../infra/redis.ts'
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

interface Attempt {
  userId: string
  admissionId: string
  resolve(result: AdmitResult): void
  reject(error: unknown): void
}

/**
 * Group commit for admissions. Every attempt on a product that arrives in the same event-loop turn goes to
 * Redis with the others as ONE script call, decided one by one in arrival order, and each caller gets its own
 * answer once Redis has decided. A hot product lives on one Redis shard (one hash tag), so what one attempt
 * costs there bounds the whole sale: a batch pays the script's fixed cost once.
 */
export function createAdmissionBatcher(redis: RedisClient, prefix: string) {
  let queue = new Map<number, Attempt[]>()
  let scheduled = false

  async function send(productId: number, attempts: Attempt[]) {
    const keys = productKeys(prefix, productId)
    const args: string[] = []
    for (const a of attempts) args.push(a.userId, a.admissionId)
    let reply: number[]
    try {
      reply = await callScript<number[]>(redis, 'admitBuyers', [keys.product, keys.buyers], args)
    } catch (error) {
      for (const a of attempts) a.reject(error)
      return
    }
    const admittedAt = reply[0] as number
    for (const [i, a] of attempts.entries()) {
      const code = reply[i + 1]
      a.resolve(
        code === 1
          ? { admitted: true, admittedAt }
          : { admitted: false, refusal: REFUSALS[code as number] ?? 'product_not_found' },
      )
    }
  }

  function drain() {
    scheduled = false
    const batches = queue
    queue = new Map()
    for (const [productId, attempts] of batches) {
      for (let i = 0; i < attempts.length; i += MAX_ATTEMPTS_PER_CALL) {
        void send(productId, attempts.slice(i, i + MAX_ATTEMPTS_PER_CALL))
      }
    }
  }

  return function admit(productId: number, userId: string, admissionId: string): Promise<AdmitResult> {
    return new Promise((resolve, reject) => {
      let attempts = queue.get(productId)
      if (!attempts) {
        attempts = []
        queue.set(productId, attempts)
      }
      attempts.push({ userId, admissionId, resolve, reject })
      if (!scheduled) {
        scheduled = true
        setImmediate(drain)
      }
    })
  }
}
