import type { Logger } from '../infra/logger.ts'
import type { Outbox, ViewedPart } from './outbox.ts'

/** Seconds of parts kept while SQL refuses them; older ones are dropped (the views stay counted in Redis). */
const MAX_PENDING_SECONDS = 300

/**
 * item.viewed without one event per view. Views are Redis-first facts (SQL gets them later, by the flush), so
 * their event is written right after, not in a transaction: the hot path adds 1 to an in-memory count of its
 * item and second (two Map lookups), and every `tickMs` the seconds that ended go to the outbox in one INSERT,
 * merged there with other processes' parts of the same item and second. A crash loses at most the unwritten
 * seconds' events, never a view.
 */
export function createViewAggregator(options: {
  outbox: Outbox
  log: Logger
  settleMs: number
  tickMs?: number
  now?: () => number
}) {
  const { outbox, log } = options
  const now = options.now ?? Date.now
  const bySecond = new Map<number, Map<number, number>>()
  let timer: NodeJS.Timeout | undefined
  let writing: Promise<void> | undefined

  /** Writes every second before `before` (epoch s); failed parts go back to wait for the next tick. */
  async function write(before: number): Promise<void> {
    const parts: ViewedPart[] = []
    for (const [second, items] of bySecond) {
      if (second >= before) continue
      bySecond.delete(second)
      for (const [itemId, views] of items) parts.push({ itemId, second, views })
    }
    if (parts.length === 0) return
    try {
      await outbox.addViews(parts, options.settleMs)
    } catch (error) {
      for (const p of parts) add(p.itemId, p.second, p.views)
      const oldest = Math.min(...bySecond.keys())
      if (before - oldest > MAX_PENDING_SECONDS) bySecond.delete(oldest)
      log.warn({ err: error }, 'item.viewed events not written to the outbox, retrying')
    }
  }

  function add(itemId: number, second: number, views: number) {
    let items = bySecond.get(second)
    if (!items) {
      items = new Map()
      bySecond.set(second, items)
    }
    items.set(itemId, (items.get(itemId) ?? 0) + views)
  }

  function tick() {
    if (writing) return
    writing = write(Math.floor(now() / 1000)).finally(() => {
      writing = undefined
    })
  }

  return {
    /** Hot path: one counted view. */
    viewed(itemId: number): void {
      add(itemId, Math.floor(now() / 1000), 1)
      if (!timer) {
        timer = setInterval(tick, options.tickMs ?? 500)
        timer.unref()
      }
    },

    /** Writes every second, the current one included (shutdown). */
    async stop(): Promise<void> {
      if (timer) clearInterval(timer)
      timer = undefined
      await writing
      await write(Number.POSITIVE_INFINITY)
    },
  }
}
