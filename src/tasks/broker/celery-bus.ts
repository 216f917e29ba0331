/**
 * Celery's broadcast plumbing (remote control's pidbox and its replies, the `celeryev` events) on the task broker,
 * as Celery runs it on each: exchanges and auto-delete queues on RabbitMQ (here), kombu's PUBLISH/PSUBSCRIBE
 * fanout and bound lists on Redis (redis/fanout.ts). Messages are JSON, transient, never acked (kombu's no_ack).
 */
import type { Connection, Consumer, Publisher } from 'rabbitmq-client'
import type { Logger } from '../../infra/logger.ts'
import { wireSafe } from '../message.ts'

export interface BusExchange {
  name: string
  /** As Celery declares it on RabbitMQ (`celeryev` is topic there; Celery makes it fanout on Redis). */
  type: 'fanout' | 'topic' | 'direct'
  durable: boolean
}

export interface BusQueue {
  queue: string
  exchange: BusExchange
  /** The binding key (`''` for a fanout; `worker.#` on a topic). */
  routingKey: string
  /** RabbitMQ queue arguments kombu sets (`x-message-ttl`, `x-expires`); Redis has none. */
  arguments?: Record<string, unknown>
  exclusive?: boolean
}

export interface BusMessage {
  /** The JSON body parsed; the raw text when it is not JSON (a receiver validates the shape). */
  body: unknown
  headers: Record<string, unknown>
}

export interface BusSubscription {
  /** Resolves once the queue is bound / the pattern subscribed (messages published before are not seen). */
  ready: Promise<void>
  close(): Promise<void>
}

export interface CeleryBus {
  kind: 'amqp' | 'redis'
  /** Publishes `body` as JSON; `confirm` waits for RabbitMQ's confirm (Redis answers every write). */
  publish(
    exchange: BusExchange,
    routingKey: string,
    body: unknown,
    headers: Record<string, unknown>,
    options?: { confirm?: boolean },
  ): Promise<void>
  /** Consumes `spec.queue` bound to its exchange; a handler's error is the handler's to log. */
  consume(spec: BusQueue, onMessage: (message: BusMessage) => void | Promise<void>): BusSubscription
  close(): Promise<void>
}

/** A body as received: parsed JSON, or the raw text when it is not JSON. */
export function parseJsonBody(body: unknown): unknown {
  if (!Buffer.isBuffer(body) && typeof body !== 'string') return body
  const text = body.toString()
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}

/** The bus on RabbitMQ: publishers per exchange, one consumer per queue, declared as kombu declares them. */
export function createAmqpCeleryBus(amqp: Connection, log: Logger): CeleryBus {
  const publishers = new Map<string, Publisher>()
  const publisherFor = (exchange: BusExchange, confirm: boolean) => {
    const key = `${exchange.name}\0${confirm}`
    let publisher = publishers.get(key)
    if (!publisher) {
      publisher = amqp.createPublisher({
        confirm,
        maxAttempts: 1,
        exchanges: [
          { exchange: exchange.name, type: exchange.type, durable: exchange.durable, autoDelete: false },
        ],
      })
      publishers.set(key, publisher)
    }
    return publisher
  }

  return {
    kind: 'amqp',
    async publish(exchange, routingKey, body, headers, options = {}) {
      await publisherFor(exchange, options.confirm ?? false).send(
        {
          exchange: exchange.name,
          routingKey,
          contentType: 'application/json',
          contentEncoding: 'utf-8',
          headers: wireSafe(headers) as Record<string, unknown>, // e.g. a control reply's clock past 127
          durable: false,
        },
        body,
      )
    },
    consume(spec, onMessage) {
      const { exchange } = spec
      const consumer: Consumer = amqp.createConsumer(
        {
          queue: spec.queue,
          queueOptions: {
            durable: false,
            autoDelete: true,
            exclusive: spec.exclusive,
            arguments: spec.arguments,
          },
          exchanges: [
            { exchange: exchange.name, type: exchange.type, durable: exchange.durable, autoDelete: false },
          ],
          queueBindings: [{ queue: spec.queue, exchange: exchange.name, routingKey: spec.routingKey }],
          noAck: true,
        },
        (msg) => onMessage({ body: parseJsonBody(msg.body), headers: msg.headers ?? {} }),
      )
      // rabbitmq-client recovers a consumer by itself; its errors are only reported.
      consumer.on('error', (error) =>
        log.warn({ err: error, queue: spec.queue }, 'consumer error (it recovers)'),
      )
      return {
        ready: new Promise<void>((resolve) => consumer.once('ready', () => resolve())),
        close: () => consumer.close(),
      }
    },
    async close() {
      await Promise.all([...publishers.values()].map((p) => p.close()))
      publishers.clear()
    },
  }
}
