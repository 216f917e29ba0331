import type { Logger } from '../infra/logger.ts'
import type { Outbox } from './outbox.ts'
import type { EventSink } from './sinks.ts'
import type { DomainEvent } from './types.ts'

export interface DrainOptions {
  outbox: Outbox
  sink: EventSink
  log: Logger
  batchSize: number
  /** How long a claimed batch belongs to this drainer (then another may take it: a crash loses nothing). */
  leaseMs: number
  /** Sleep between drains when the outbox had nothing due. */
  idleMs: number
  retryBaseMs: number
  retryMaxMs: number
  maxAttempts: number
  onPublished?(events: DomainEvent[]): void
  onFailed?(count: number): void
}

/** Exponential backoff with full jitter, capped. */
export function backoffMs(attempt: number, baseMs: number, maxMs: number): number {
  const cap = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30))
  return Math.round(cap / 2 + (Math.random() * cap) / 2)
}

/**
 * The worker's outbox drain: claim a batch, publish it, delete what the broker confirmed, release the rest with
 * backoff. While the broker is down nothing is claimed (no attempt is spent on an outage), and the facts keep
 * being committed: they wait in SQL.
 */
export function createDrainer(options: DrainOptions) {
  const { outbox, sink, log } = options
  let failures = 0

  /** One batch; returns how many events were published. */
  async function drainOnce(): Promise<number> {
    if (!sink.ready()) return 0
    const claimed = await outbox.claim(options.batchSize, options.leaseMs)
    if (claimed.length === 0) return 0
    const outcomes = await sink.publish(claimed.map((c) => c.event))
    const done: number[] = []
    const failed: number[] = []
    let error = ''
    outcomes.forEach((outcome, i) => {
      const seq = (claimed[i] as { seq: number }).seq
      if (outcome.status === 'fulfilled') done.push(seq)
      else {
        failed.push(seq)
        error ||= String((outcome.reason as Error)?.message ?? outcome.reason)
      }
    })
    // Deleted only after the confirm: a crash in between publishes them again (consumers dedupe by id).
    await outbox.remove(done)
    if (done.length > 0)
      options.onPublished?.(claimed.filter((_, i) => outcomes[i]?.status === 'fulfilled').map((c) => c.event))
    if (failed.length > 0) {
      failures++
      const counted = sink.ready() // refused by a broker that is up; a connection lost mid-batch costs no attempt
      const attempt = Math.max(...claimed.filter((c) => failed.includes(c.seq)).map((c) => c.attempts))
      await outbox.release(failed, {
        delayMs: backoffMs(attempt, options.retryBaseMs, options.retryMaxMs),
        error,
        counted,
        maxAttempts: options.maxAttempts,
      })
      options.onFailed?.(failed.length)
      log.warn({ failed: failed.length, error }, 'domain events not confirmed by the broker, retrying later')
    } else failures = 0
    return done.length
  }

  function start() {
    let stopped = false
    let wake: (() => void) | undefined
    const loop = (async () => {
      while (!stopped) {
        let published = 0
        try {
          published = await drainOnce()
        } catch (error) {
          failures++
          log.warn({ err: error }, 'domain events drain failed (SQL?), retrying')
        }
        if (published > 0 && failures === 0) continue // more may be due: drain on without sleeping
        const pause =
          failures > 0 ? backoffMs(failures, options.retryBaseMs, options.retryMaxMs) : options.idleMs
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, pause)
          wake = () => {
            clearTimeout(timer)
            resolve()
          }
        })
      }
    })()
    return {
      async stop() {
        stopped = true
        wake?.()
        await loop
      },
    }
  }

  return { drainOnce, start }
}
