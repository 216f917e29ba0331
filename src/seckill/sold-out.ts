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
  events.on(RESTOCK_TOPIC, (payload) => {
    const productId = (payload as { productId?: unknown } | null)?.productId
    if (typeof productId === 'number') until.delete(productId)
  })

  return {
    isSoldOut(productId: number): boolean {
      const known = until.get(productId)
      if (known === undefined) return false
      if (known > now()) return true
      until.delete(productId)
      return false
    },

    /** Redis just refused an attempt as sold out. */
    remember(productId: number): void {
      until.set(productId, now() + trustMs)
    },

    /** Units may be back: forget here at once, and tell every other process (best effort: see `trustMs`). */
    restocked(productId: number): void {
      until.delete(productId)
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
