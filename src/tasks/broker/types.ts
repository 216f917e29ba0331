/**
 * What the task system needs from a broker, so the same producer and worker run on RabbitMQ (AMQP 0-9-1) and
 * on Redis (kombu's Redis transport). Messages are Celery's: a body and AMQP-style properties with headers.
 */
import type { ConsumerStatus } from 'rabbitmq-client'
import type { DeadLetter } from '../dlq.ts'
import type { Producer, RawMessage } from '../producer.ts'

export type BrokerKind = 'amqp' | 'redis'

/** A delivered message, shaped as the part of rabbitmq-client's AsyncMessage the worker reads. */
export interface BrokerMessage {
  body: unknown
  contentType?: string
  contentEncoding?: string
  correlationId?: string
  replyTo?: string
  messageId?: string
  priority?: number
  headers?: Record<string, unknown>
  /** The headers came from JSON (kombu's Redis envelope), so no bigint is in them (AMQP's 64-bit integers). */
  jsonHeaders?: boolean
  /** The broker delivered it before (a worker died or gave it back). */
  redelivered: boolean
}

/** ACK done, REQUEUE give it back to the queue, DROP discard it (rabbitmq-client's values). */
export type MessageOutcome = ConsumerStatus

export interface ConsumeOptions {
  /** Handlers running at once. */
  concurrency: number
  /** Unacked messages taken ahead of the handlers. */
  prefetch: number
}

export interface BrokerConsumer {
  /** Stops taking messages and waits for the running handlers (their outcomes are recorded). */
  close(): Promise<void>
}

export interface Broker {
  kind: BrokerKind
  /**
   * Publishes an encoded message to a queue (Celery's default exchange: routing key = queue), persistent and
   * confirmed, now or after `delayMs` in the broker (never in a worker's memory). `declare: false` skips
   * declaring the queue (the dead-letter queue exists already).
   */
  publish(queue: string, message: RawMessage, delayMs?: number, opts?: { declare: boolean }): Promise<void>
  /** Declares a queue as Celery does, once per process. */
  ensureQueue(queue: string): Promise<void>
  consume(
    queue: string,
    options: ConsumeOptions,
    handler: (msg: BrokerMessage) => Promise<MessageOutcome>,
    onError: (error: unknown) => void,
  ): BrokerConsumer
  /** Messages waiting in a queue and its consumers (null: the queue does not exist, or the broker cannot say). */
  depth(queue: string): Promise<{ messages: number | null; consumers: number | null }>
  /** Messages waiting for their countdown / eta / retry delay. */
  delayedCount(): Promise<number>
  /** The dead-letter queue, oldest first, without taking anything out of it. */
  listDeadLetters(limit?: number): Promise<DeadLetter[]>
  /** Sends the selected dead letters back to their queue (retry count reset); returns the task ids replayed. */
  replayDeadLetters(producer: Producer, select: (info: DeadLetter) => boolean): Promise<string[]>
  /** Resolves once the broker answers (a CLI command waits for it), rejects after `timeoutMs`. */
  ready(timeoutMs?: number): Promise<void>
  /** A round trip to the broker (for /readyz). */
  ping(): Promise<boolean>
  close(): Promise<void>
}
