import type { Logger } from '../infra/logger.ts'
import type { RedisClient } from '../infra/redis.ts'
import { createEventListeners } from './event-listeners.ts'
import { EVENTS_EXCHANGE } from './topology.ts'
import type { EventBus } from './types.ts'

/**
 * The events bus without RabbitMQ (BROKER_URL=redis://, no AMQP_URL): Redis pub/sub on the channel
 * `hotspot.events`, one subscribed connection per process. Like the fanout exchange's auto-delete queues, a
 * process hears what is published while it is subscribed, nothing from before.
 */
export function createRedisEventBus(
  redis: RedisClient,
  subscriber: () => RedisClient,
  log: Logger,
): EventBus & { start(): Promise<void>; stop(): Promise<void> } {
  const listeners = createEventListeners(log)
  let sub: RedisClient | undefined

  return {
    async publish(topic, payload) {
      await redis.publish(EVENTS_EXCHANGE, JSON.stringify({ topic, payload }))
    },

    on: listeners.on,

    async start() {
      if (sub) return
      sub = subscriber()
      sub.on('error', (error: Error) => log.warn({ err: error }, 'events subscriber error (it reconnects)'))
      sub.on('message', (channel: string, message: string) => {
        if (channel !== EVENTS_EXCHANGE) return
        let event: { topic?: unknown; payload?: unknown }
        try {
          event = JSON.parse(message)
        } catch {
          return
        }
        listeners.dispatch(event)
      })
      // ioredis re-subscribes by itself after a reconnect.
      await sub.subscribe(EVENTS_EXCHANGE)
    },

    async stop() {
      sub?.disconnect()
      sub = undefined
    },
  }
}
