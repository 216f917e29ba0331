import type { Logger } from '../infra/logger.ts'
import { PermanentTaskError, RetryTask, type TaskContext, type TaskRegistry } from '../tasks/types.ts'
import { maskPhone } from './phone.ts'
import { isFinal } from './providers/errors.ts'
import type { SmsProvider } from './providers/index.ts'
import { partsAlreadySent } from './providers/types.ts'
import type { Sealer } from './sealed.ts'
import { segment } from './segment.ts'
import { DELIVER_TASK } from './service.ts'
import type { SmsStore } from './store.ts'

/** A delivery owns its message this long; a redelivery of the same task waits it out (the owner may be alive). */
const LEASE_MS = 60_000
/** A provider call that hangs is abandoned (and retried) well before the lease runs out. */
const PROVIDER_TIMEOUT_MS = 30_000
/** Extra task retries beyond the delivery attempts, for deliveries that had to wait for another's lease. */
const SPARE_RETRIES = 3

export interface DeliveryOptions {
  store: SmsStore
  provider: SmsProvider
  sealer: Sealer
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

/**
 * `hotspot.sms.deliver(smsId)`: at-least-once from the broker, exactly once to the provider. A delivery first
 * claims the message in SQL (only one can); a message already `sent` or `failed` is left alone; the provider
 * call runs under `context.once` (a redelivery after it succeeded does not repeat it) and the provider itself
 * is idempotent per part. Provider errors are retried with exponential backoff until `maxAttempts`, then
 * the message is `failed`.
 */
export function registerDeliveryTask(registry: TaskRegistry, options: DeliveryOptions) {
  const { store, provider, sealer, log, maxAttempts } = options
  const maxRetries = maxAttempts - 1 + SPARE_RETRIES

  async function deliver(args: unknown[], _kwargs: Record<string, unknown>, context: TaskContext) {
    const id = args[0]
    if (typeof id !== 'string' || id.length > 64) throw new PermanentTaskError('expected args [smsId]')

    const sms = await store.claim(id, LEASE_MS)
    if (!sms) {
      const row = await store.get(id)
      if (!row) throw new PermanentTaskError(`no SMS ${id}`)
      if (row.status !== 'sending' || context.retries >= maxRetries) return { id, status: row.status }
      // Another delivery of this task owns it right now: come back when its lease ends.
      const wait = Math.max(1, Math.ceil(((row.lease_until ?? 0) - Date.now()) / 1000) + 1)
      throw new RetryTask('another delivery is sending this SMS', wait)
    }

    // A sealed text is opened only here, for the provider; `content` then holds its masked form.
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
            phone: sms.phone,
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
        phone: maskPhone(sms.phone),
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
    log.info({ sms: id, phone: maskPhone(sms.phone), parts: parts.length, attempt: sms.attempts }, 'SMS sent')
    return { id, status: 'sent' }
  }

  registry.register(DELIVER_TASK, deliver, {
    maxRetries,
    retryBaseDelay: options.retryBaseMs / 1000,
    retryMaxDelay: options.retryMaxSeconds,
  })
}
