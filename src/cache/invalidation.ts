import { randomUUID } from 'node:crypto'
import type { Logger } from '../infra/logger.ts'
import type { EventBus } from '../tasks/types.ts'
import type { Entries } from './entries.ts'

/** Topic on `hotspot.events`; the payload names the app's key prefix and the cache, so apps sharing a broker
 *  (tests, staging next to production) ignore each other's messages. */
const INVALIDATE_TOPIC = 'cache.invalidate'

interface InvalidateMessage {
  prefix: string
  cache: string
  keys: string[]
  /** The sending cache instance: it dropped its copies already and skips its own message. */
  origin: string
}

/**
 * Invalidation: a new generation in Redis (the part correctness rests on: every process checks it before trusting
 * its L1), then a broadcast so every process drops its L1 copy at once instead of on its next read.
 */
export function createInvalidation(deps: {
  entries: Entries
  events: EventBus
  prefix: string
  cache: string
  log: Logger
  /** Drops one key from this process's L1. */
  drop(key: string, source: 'local' | 'remote'): void
}) {
  const { entries, events, prefix, cache, log } = deps
  /** Broadcasts in flight: a write does not wait for RabbitMQ, but stop() does. */
  const sending = new Set<Promise<void>>()
  const origin = randomUUID()

  const off = events.on(INVALIDATE_TOPIC, (payload) => {
    const message = payload as Partial<InvalidateMessage> | null
    if (message?.prefix !== prefix || message.cache !== cache || message.origin === origin) return
    if (!Array.isArray(message.keys)) return
    for (const key of message.keys) if (typeof key === 'string') deps.drop(key, 'remote')
  })

  return {
    async invalidate(keys: string[]): Promise<void> {
      for (const key of keys) await entries.bump(key, randomUUID())
      for (const key of keys) deps.drop(key, 'local')
      const message: InvalidateMessage = { prefix, cache, keys, origin }
      // Not awaited by the writer: correctness comes from the generation; the broadcast only saves memory and a
      // round trip, and must not make an admin write wait ~5 s while RabbitMQ is down.
      const sent = events
        .publish(INVALIDATE_TOPIC, message)
        .catch((error) => log.warn({ err: error, cache }, 'cache invalidation broadcast failed'))
        .finally(() => sending.delete(sent))
      sending.add(sent)
    },

    async stop(): Promise<void> {
      off()
      await Promise.allSettled(sending)
    },
  }
}
