import type { Redis } from 'ioredis'
import type { Connection } from 'rabbitmq-client'
import type { DomainEvent } from './types.ts'

/** Where the drainer publishes: RabbitMQ's topic exchange, or Redis streams on a Redis-only deployment. */
export interface EventSink {
  kind: 'amqp' | 'redis'
  /** Connected: a batch is worth trying (while not, nothing is claimed and no attempt is used up). */
  ready(): boolean
  /** Publishes every event; each settles when the broker confirmed it (or failed to). */
  publish(events: DomainEvent[]): Promise<PromiseSettledResult<void>[]>
  close(): Promise<void>
}

/** The stream a routing key goes to on Redis: one per prefix (`order.created` → `hotspot.domain.order`). */
export const streamOf = (exchange: string, type: string) => `${exchange}.${type.split('.')[0]}`

/**
 * RabbitMQ: a durable topic exchange, persistent messages, publisher confirms. One channel, so a batch's
 * messages leave in order; each `send` resolves on the broker's confirm (rabbitmq-client's `confirm: true`).
 */
export function amqpSink(amqp: Connection, exchange: string, timeoutMs: number): EventSink {
  const publisher = amqp.createPublisher({
    confirm: true,
    maxAttempts: 1, // the outbox retries, with backoff; the client must not resend behind its back
    exchanges: [{ exchange, type: 'topic', durable: true, autoDelete: false }],
  })
  const withTimeout = (sending: Promise<void>) => {
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no confirm within ${timeoutMs} ms`)), timeoutMs)
    })
    return Promise.race([sending, timeout]).finally(() => clearTimeout(timer))
  }
  return {
    kind: 'amqp',
    ready: () => amqp.ready,
    publish: (events) =>
      Promise.allSettled(
        events.map((event) =>
          withTimeout(
            publisher.send(
              {
                exchange,
                routingKey: event.type,
                durable: true,
                contentType: 'application/json',
                messageId: event.id,
                type: event.type,
                timestamp: Math.floor(Date.parse(event.time) / 1000),
              },
              event,
            ),
          ),
        ),
      ),
    close: () => publisher.close(),
  }
}

/**
 * Redis-only deployment: XADD to one stream per routing-key prefix, capped near `maxLen` entries (MAXLEN ~,
 * which trims whole nodes cheaply). A batch is one pipeline; Redis answers each XADD once it is applied.
 */
export function redisSink(client: Redis, exchange: string, maxLen: number): EventSink {
  return {
    kind: 'redis',
    ready: () => client.status === 'ready',
    async publish(events) {
      const pipeline = client.pipeline()
      for (const event of events) {
        pipeline.xadd(
          streamOf(exchange, event.type),
          'MAXLEN',
          '~',
          maxLen,
          '*',
          'type',
          event.type,
          'id',
          event.id,
          'event',
          JSON.stringify(event),
        )
      }
      let answers: [Error | null, unknown][] | null
      try {
        answers = await pipeline.exec()
      } catch (error) {
        return events.map(() => ({ status: 'rejected', reason: error }) as const)
      }
      return events.map((_, i) => {
        const [error] = answers?.[i] ?? [new Error('no answer')]
        return error
          ? ({ status: 'rejected', reason: error } as const)
          : ({ status: 'fulfilled', value: undefined } as const)
      })
    },
    close: async () => {},
  }
}
