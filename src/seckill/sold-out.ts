import type { Logger } from '../infra/logger.ts'
import type { EventBus } from '../tasks/types.ts'

/** Broadcast when a product's `remaining` may have gone up (an admission undone, a repair, a restore). */
export const RESTOCK_TOPIC = 'seckill.restocked'

/** How long a sold-out answer from Redis is trusted without asking again: bounds a missed restock event. */
const DEFAULT_TRUST_MS = 1000

/**
 * Products this process knows are sold out, so a rush's ~99 % of attempts are refused from memory, before the
 * limiter and the admission script (two Redis calls each). It only ever refuses, never admits, so it cannot
 * oversell; a restock (in any process: the events bus) forgets the product at once, and without the event the
 * memory is trusted for at most `trustMs`, after which Redis decides again.
 *
 * A sold-out answer computed before a restock must not be remembered after it (it would refuse buyers while
 * units are back): callers take a `ticket` before asking Redis and `remember` only counts when no restock was
 * heard since.
 */
export function createSoldOutMemory(options: {
  events: EventBus
  log: Logger
  trustMs?: number
  now?: () => number
}) {
  const { events, log } = options
  const trustMs = options.trustMs ?? DEFAULT_TRUST_MS
  const now = options.now ?? Date.now
  const until = new Map<number, number>()
  /** Restocks heard per product (bounded by the products that ever restocked). */
  const restocks = new Map<number, number>()
  const forget = (productId: number) => {
    until.delete(productId)
    restocks.set(productId, (restocks.get(productId) ?? 0) + 1)
  }
  events.on(RESTOCK_TOPIC, (payload) => {
    const productId = (payload as { productId?: unknown } | null)?.productId
    if (typeof productId === 'number') forget(productId)
  })

  return {
    isSoldOut(productId: number): boolean {
      const known = until.get(productId)
      if (known === undefined) return false
      if (known > now()) return true
      until.delete(productId)
      return false
    },

    /** Taken before asking Redis: names the restocks heard so far. */
    ticket(productId: number): number {
      return restocks.get(productId) ?? 0
    },

    /** Redis refused an attempt as sold out, asked with `ticket`: ignored if a restock came in between. */
    remember(productId: number, ticket: number): void {
      if ((restocks.get(productId) ?? 0) !== ticket) return
      until.set(productId, now() + trustMs)
    },

    /** Units may be back: forget here at once, and tell every other process (best effort: see `trustMs`). */
    restocked(productId: number): void {
      forget(productId)
      events.publish(RESTOCK_TOPIC, { productId }).catch((error: unknown) => {
        log.warn(
          { err: error, productId },
          'restock event not sent (other processes ask Redis again once their memory expires)',
        )
      })
    },
  }
}

export type SoldOutMemory = ReturnType<typeof createSoldOutMemory>
