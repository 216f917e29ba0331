import type { Logger } from '../infra/logger.ts'
import {
  PermanentTaskError,
  RetryTask,
  type TaskContext,
  type TaskProducer,
  type TaskRegistry,
} from '../tasks/types.ts'
import { maskPhone } from './phone.ts'
import type { PhoneVault } from './phone-vault.ts'
import { isFinal } from './providers/errors.ts'
import type { SmsProvider } from './providers/index.ts'
import { partsAlreadySent } from './providers/types.ts'
import type { Sealer } from './sealed.ts'
import { segment } from './segment.ts'
import { DELIVER_TASK, MAX_BATCH } from './service.ts'
import type { SmsStore } from './store.ts'

/** A delivery owns its message this long; a redelivery of the same task waits it out (the owner may be alive). */
const LEASE_MS = 60_000
/** A provider call that hangs is abandoned (and retried) well before the lease runs out. */
const PROVIDER_TIMEOUT_MS = 30_000
/** Extra task retries beyond the delivery attempts, for deliveries that had to wait for another's lease. */
const SPARE_RETRIES = 3
/** Provider calls at once within one batch task (as many as a worker runs tasks at once by default). */
const BATCH_CONCURRENCY = 16

export interface DeliveryOptions {
  store: SmsStore
  /** Sends an SMS of a batch that needs another attempt as a task of its own. */
  producer: TaskProducer
  provider: SmsProvider
  sealer: Sealer
  phones: PhoneVault
  log: Logger
  /** Delivery attempts per message, the first one included. */
  maxAttempts: number
  retryBaseMs: number
  retryMaxSeconds: number
}

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`provider did not answer within ${ms} ms`)), ms)
  })
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer))
}

/** Runs `work` on every item, at most `limit` at a time (hand-written: a few lines, no dependency for it). */
async function eachLimited<T>(items: T[], limit: number, work: (item: T) => Promise<void>) {
  let next = 0
  const lane = async () => {
    while (next < items.length) await work(items[next++] as T)
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane))
}

/**
 * `hotspot.sms.deliver(smsId, …)`: at-least-once from the broker, exactly once to the provider. A delivery first
 * claims the message in SQL (only one can); a message already `sent` or `failed` is left alone; the provider
 * call runs under `context.once` (a redelivery after it succeeded does not repeat it) and the provider itself
 * is idempotent per part. Provider errors are retried with exponential backoff until `maxAttempts`, then
 * the message is `failed`.
 */
export function registerDeliveryTask(registry: TaskRegistry, options: DeliveryOptions) {
  const { store, provider, sealer, phones, log, maxAttempts, producer } = options
  const maxRetries = maxAttempts - 1 + SPARE_RETRIES

  async function deliver(args: unknown[], _kwargs: Record<string, unknown>, context: TaskContext) {
    if (args.length > 1) return deliverBatch(args, context)
    const id = args[0]
    if (typeof id !== 'string' || id.length > 64) throw new PermanentTaskError('expected args [smsId]')
    return deliverOne(id, context)
  }

  /**
   * Many SMS in one task (the API publishes one per event-loop turn: one broker message instead of one per SMS).
   * Each gets its first attempt here; one that needs another (provider error, another delivery's lease) goes on
   * as a task of its own with the usual backoff, so a batch never retries the SMS that went through. If such a
   * task cannot be sent, the batch fails and is retried: what was sent is skipped then (its SQL state says so).
   */
  async function deliverBatch(args: unknown[], context: TaskContext) {
    if (args.length > MAX_BATCH || !args.every((id) => typeof id === 'string' && id.length <= 64))
      throw new PermanentTaskError(`expected args [smsId, …] (at most ${MAX_BATCH})`)
    const results: { id: string; status: string }[] = []
    const unsent: unknown[] = []
    await eachLimited(args as string[], BATCH_CONCURRENCY, async (id) => {
      // Effects are remembered per SMS within the batch task (a redelivered batch repeats none).
      const own: TaskContext = { ...context, once: (key, effect) => context.once(`${key}:${id}`, effect) }
      try {
        results.push(await deliverOne(id, own))
      } catch (error) {
        if (error instanceof PermanentTaskError) {
          results.push({ id, status: 'failed' })
          return
        }
        const countdown = error instanceof RetryTask ? error.countdown : options.retryBaseMs / 1000
        try {
          await producer.send(DELIVER_TASK, [id], {}, { countdown })
          results.push({ id, status: 'retrying' })
        } catch (sendError) {
          unsent.push(sendError)
        }
      }
    })
    if (unsent.length > 0)
      throw new Error(`${unsent.length} SMS of the batch could not be sent on for a retry`)
    return results
  }

  async function deliverOne(id: string, context: TaskContext) {
    const sms = await store.claim(id, LEASE_MS)
    if (!sms) {
      const row = await store.get(id)
      if (!row) throw new PermanentTaskError(`no SMS ${id}`)
      if (row.status !== 'sending' || context.retries >= maxRetries) return { id, status: row.status }
      // Another delivery of this task owns it right now: come back when its lease ends.
      const wait = Math.max(1, Math.ceil(((row.lease_until ?? 0) - Date.now()) / 1000) + 1)
      throw new RetryTask('another delivery is sending this SMS', wait)
    }

    // The phone and a sealed text are opened only here, for the provider; `content` then holds its masked form.
    const phone = phones.open(id, sms.phone)
    const text = sms.sealed === null ? sms.content : sealer.open(id, sms.sealed)
    const parts = segment(text).parts
    const maskedParts = sms.sealed === null ? undefined : segment(sms.content).parts
    // Parts a gateway already took in an earlier attempt (or through another gateway) are never sent again.
    const sentParts = partsAlreadySent(await store.gatewayParts(id), parts.length)
    try {
      await context.once('provider-send', () =>
        withTimeout(
          provider.send({
            smsId: id,
            phone,
            parts,
            attempt: sms.attempts,
            sentParts,
            onPartSent: (part, gateway, messageId) => store.recordPart(id, part, gateway, messageId),
            ...(maskedParts ? { maskedParts } : {}),
          }),
          PROVIDER_TIMEOUT_MS,
        ),
      )
    } catch (error) {
      const reason = (error instanceof Error ? error.message : String(error)).slice(0, 500)
      const logged = {
        sms: id,
        phone: maskPhone(phone),
        attempt: sms.attempts,
        provider: provider.name,
        reason,
      }
      if (isFinal(error) || sms.attempts >= maxAttempts || context.retries >= maxRetries) {
        await store.markFailed(id, reason)
        log.warn(logged, 'SMS delivery failed for good')
        throw new PermanentTaskError(`SMS ${id} failed after ${sms.attempts} attempts: ${reason}`)
      }
      await store.markRetry(id, reason)
      log.info(logged, 'SMS delivery failed, will retry')
      throw error
    }
    const gateways = (await store.gatewayParts(id)).map((p) => p.gateway)
    await store.markSent(id, gateways.at(-1) ?? provider.name)
    log.info({ sms: id, phone: maskPhone(phone), parts: parts.length, attempt: sms.attempts }, 'SMS sent')
    return { id, status: 'sent' }
  }

  registry.register(DELIVER_TASK, deliver, {
    maxRetries,
    retryBaseDelay: options.retryBaseMs / 1000,
    retryMaxDelay: options.retryMaxSeconds,
  })
}
