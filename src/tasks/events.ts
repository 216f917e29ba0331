import { randomUUID } from 'node:crypto'
import type { Connection, Consumer } from 'rabbitmq-client'
import type { Logger } from '../infra/logger.ts'
import { createEventListeners } from './event-listeners.ts'
import { EVENTS_EXCHANGE } from './topology.ts'
import type { EventBus } from './types.ts'

const exchange = { exchange: EVENTS_EXCHANGE, type: 'fanout', durable: true, autoDelete: false } as const

/**
 * "Every process hears this": a fanout exchange, and one exclusive auto-delete queue per process bound to it
 * (re-declared by rabbitmq-client after a reconnect). Used for cache invalidation and live counts.
 */
export function createEventBus(
  amqp: Connection,
  log: Logger,
  options: { startTimeoutMs?: number } = {},
): EventBus & { start(): Promise<void>; stop(): Promise<void> } {
  const startTimeoutMs = options.startTimeoutMs ?? 30_000
  const listeners = createEventListeners(log)
  const publisher = amqp.createPublisher({ confirm: true, maxAttempts: 1, exchanges: [exchange] })
  const queue = `hotspot.events.${randomUUID()}`
  let consumer: Consumer | undefined

  return {
    async publish(topic, payload) {
      await publisher.send(
        { exchange: EVENTS_EXCHANGE, routingKey: '', contentType: 'application/json' },
        { topic, payload },
      )
    },

    on: listeners.on,

    async start() {
      if (consumer) return
      consumer = amqp.createConsumer(
        {
          queue,
          queueOptions: { exclusive: true, autoDelete: true, durable: false },
          exchanges: [exchange],
          queueBindings: [{ queue, exchange: EVENTS_EXCHANGE, routingKey: '' }],
          noAck: true,
        },
        (msg) => {
          listeners.dispatch(msg.body as { topic?: unknown; payload?: unknown } | null)
        },
      )
      consumer.on('error', (error) =>
        log.warn({ err: error }, 'events consumer error (it recovers by itself)'),
      )
      const subscribing = consumer
      // Bounded: at start-up an unreachable or refusing broker would otherwise hang the process silently.
      let timer: NodeJS.Timeout | undefined
      const ready = await Promise.race([
        new Promise<boolean>((resolve) => subscribing.once('ready', () => resolve(true))),
        new Promise<boolean>((resolve) => {
          timer = setTimeout(() => resolve(false), startTimeoutMs)
        }),
      ])
      clearTimeout(timer)
      if (!ready) {
        consumer = undefined
        await subscribing.close().catch(() => {})
        throw new Error(
          `RabbitMQ did not accept hotspot's event subscription within ${startTimeoutMs / 1000} s: ` +
            'check that AMQP_URL points to a running node and that its user may declare queues',
        )
      }
    },

    async stop() {
      await consumer?.close()
      await publisher.close()
    },
  }
}
