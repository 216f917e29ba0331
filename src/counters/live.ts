import type { Logger } from '../infra/logger.ts'
import type { EventBus } from '../tasks/types.ts'
import type { ViewResult } from './views.ts'

/** The `hotspot.events` topic live view counts travel on (the web UI's `GET /api/events` relays it). */
export const LIVE_VIEWS_TOPIC = 'counters.views'

export interface LiveCount extends Omit<ViewResult, 'counted'> {
  id: number
}

/** What travels on the topic; `prefix` lets apps that share a broker (tests, staging) ignore each other. */
export interface LiveViewsEvent {
  prefix: string
  items: LiveCount[]
}

/** Items per published message: keeps one broadcast small even when thousands of items change at once. */
const MAX_ITEMS_PER_EVENT = 1000

/**
 * Live counts without one message per view: the hot path only remembers the newest count of each item that
 * changed (one Map.set), and at most every `intervalMs` one event carries all of them. The counters take tens
 * of thousands of views a second; the UI needs a few updates a second.
 */
export function createLiveCounts(options: {
  events: EventBus
  log: Logger
  prefix: string
  intervalMs?: number
}) {
  const { events, log, prefix } = options
  const intervalMs = options.intervalMs ?? 250
  let changed = new Map<number, ViewResult>()
  let timer: NodeJS.Timeout | undefined
  let stopped = false

  async function publish(): Promise<void> {
    timer = undefined
    const batch = changed
    changed = new Map()
    const items: LiveCount[] = []
    for (const [id, c] of batch) items.push({ id, views: c.views, uniqueVisitors: c.uniqueVisitors })
    for (let i = 0; i < items.length; i += MAX_ITEMS_PER_EVENT) {
      try {
        const event: LiveViewsEvent = { prefix, items: items.slice(i, i + MAX_ITEMS_PER_EVENT) }
        await events.publish(LIVE_VIEWS_TOPIC, event)
      } catch (error) {
        // Best effort: the counts are safe in Redis, and pages poll when their stream is quiet or gone.
        log.debug({ err: error }, 'live counts not published')
      }
    }
  }

  return {
    /** Hot path: called once per counted view with the item's new counts. */
    viewed(id: number, counts: ViewResult): void {
      // Answers of one item arrive in order (one Redis connection, pipelined), so the last one is the newest.
      changed.set(id, counts)
      if (timer === undefined && !stopped) timer = setTimeout(() => void publish(), intervalMs)
    },

    stop(): void {
      stopped = true
      if (timer !== undefined) clearTimeout(timer)
      timer = undefined
    },
  }
}

export type LiveCounts = ReturnType<typeof createLiveCounts>
