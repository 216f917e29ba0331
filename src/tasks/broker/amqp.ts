import type { Connection, Envelope } from 'rabbitmq-client'
import { pingAmqp, waitForAmqp } from '../../infra/amqp.ts'
import type { Declarer } from '../declare.ts'
import { DELAY_ENTRY_EXCHANGE, DELAY_LEVELS, delayRoutingKey, levelName } from '../delay-routing.ts'
import { listDeadLetters, replayDeadLetters } from '../dlq.ts'
import { type QueueType, taskQueue } from '../topology.ts'
import { coalesceAcks } from './amqp-acks.ts'
import type { Broker, BrokerConsumer } from './types.ts'

/** Delays shorter than this are not worth a trip through the delay queues. */
export const MIN_DELAY_MS = 500

/**
 * The broker on RabbitMQ: persistent messages with publisher confirms to the default exchange (as Celery), delays
 * through kombu's native delayed-delivery levels, consumers that rabbitmq-client re-subscribes after a reconnect.
 */
export function createAmqpBroker(
  amqp: Connection,
  declarer: Declarer,
  queueType: QueueType,
  /** x-max-priority of the task queues (Celery's task_queue_max_priority); 0 = none. */
  maxPriority = 0,
): Broker {
  // maxAttempts 1: a publish that fails is reported to the caller (who answers 503 and undoes its work),
  // never retried later behind its back.
  const publisher = amqp.createPublisher({ confirm: true, maxAttempts: 1 })

  async function depth(queue: string) {
    // A channel of its own: a missing queue's NOT_FOUND closes the channel it was asked on, and on the
    // connection's shared one that would fail every call in flight there (readiness pings, publishes) with it.
    const channel = await amqp.acquire()
    try {
      const ok = await channel.queueDeclare({ queue, passive: true })
      return { messages: ok.messageCount, consumers: ok.consumerCount }
    } catch (error) {
      if (isMissingQueue(error)) return { messages: null, consumers: null }
      throw error
    } finally {
      await channel.close().catch(() => {})
    }
  }

  return {
    kind: 'amqp',

    async publish(queue, message, delayMs = 0, opts) {
      if (opts?.declare === false) await declarer.ensureBase()
      else if (!declarer.isQueueDone(queue)) await declarer.ensureQueue(queue)
      const delayed = delayMs >= MIN_DELAY_MS
      const envelope: Envelope = {
        ...message.properties,
        exchange: delayed ? DELAY_ENTRY_EXCHANGE : '',
        routingKey: delayed ? delayRoutingKey(delayMs / 1000, queue) : queue,
        durable: true,
      }
      await publisher.send(envelope, message.body)
    },

    ensureQueue: (queue) => declarer.ensureQueue(queue),

    consume(queue, options, handler, onError): BrokerConsumer {
      const consumer = amqp.createConsumer(
        {
          queue,
          // rabbitmq-client declares the queue before consuming (and after a reconnect): Celery's exact shape.
          queueOptions: taskQueue(queue, queueType, maxPriority).queue,
          qos: { prefetchCount: options.prefetch },
          concurrency: options.concurrency,
          requeue: true,
        },
        (msg) => handler(msg),
      )
      consumer.on('error', onError)
      // One `multiple` ack for the handlers that finished together (see amqp-acks.ts).
      coalesceAcks(consumer, onError)
      return { close: () => consumer.close() }
    },

    depth,
    async delayedCount() {
      const levels = await Promise.all(Array.from({ length: DELAY_LEVELS }, (_, l) => depth(levelName(l))))
      return levels.reduce((sum, level) => sum + (level.messages ?? 0), 0)
    },
    async listDeadLetters(limit) {
      try {
        return await listDeadLetters(amqp, limit)
      } catch (error) {
        if (isMissingQueue(error)) return []
        throw error
      }
    },
    async replayDeadLetters(producer, select) {
      try {
        return await replayDeadLetters(amqp, producer, select)
      } catch (error) {
        if (isMissingQueue(error)) return []
        throw error
      }
    },
    ready: (timeoutMs) => waitForAmqp(amqp, timeoutMs),
    ping: () => pingAmqp(amqp),
    close: () => publisher.close(),
  }
}

/** RabbitMQ's 404 on a passive declare: the dead-letter queue or a task queue was never declared. */
const isMissingQueue = (error: unknown) => (error as { code?: unknown } | null)?.code === 'NOT_FOUND'
