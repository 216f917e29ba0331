import type { Connection, Envelope } from 'rabbitmq-client'
import type { Declarer } from './declare.ts'
import { DELAY_ENTRY_EXCHANGE, delayRoutingKey } from './delay-routing.ts'
import { type EncodeTaskOptions, encodeTask } from './message.ts'
import { DEFAULT_QUEUE } from './topology.ts'
import type { SendOptions, TaskProducer } from './types.ts'

/** Delays shorter than this are not worth a trip through the delay queues. */
const MIN_DELAY_MS = 500

export interface RawMessage {
  body: Buffer
  properties: Omit<Envelope, 'exchange' | 'routingKey'>
}

/**
 * Publishes Celery protocol v2 messages: persistent, with publisher confirms (send resolves once RabbitMQ has
 * the message), to the default exchange with the queue as routing key, as Celery does. A countdown or eta goes
 * through the broker's delay levels instead, so no worker holds the message while it waits.
 */
export function createProducer(options: {
  amqp: Connection
  declarer: Declarer
  /** The queue a task name goes to when the caller names none (the task's registered queue). */
  queueFor?: (name: string) => string | undefined
  /** For tasks this process does not know: Celery's `celery` unless configured. */
  defaultQueue?: string
  /** Called once the broker has a task message (Celery's `task-sent` event hangs here). */
  onSent?: (opts: EncodeTaskOptions, taskId: string, queue: string) => void
}) {
  const { amqp, declarer } = options
  // maxAttempts 1: a publish that fails is reported to the caller (who answers 503 and undoes its work),
  // never retried later behind its back.
  const publisher = amqp.createPublisher({ confirm: true, maxAttempts: 1 })

  /** Publishes an already-encoded message to a queue, now or after `delayMs` (retries, replays, eta reroutes). */
  async function publish(queue: string, message: RawMessage, delayMs = 0, opts = { declare: true }) {
    if (opts.declare) await declarer.ensureQueue(queue)
    else await declarer.ensureBase()
    const delayed = delayMs >= MIN_DELAY_MS
    const envelope: Envelope = {
      ...message.properties,
      exchange: delayed ? DELAY_ENTRY_EXCHANGE : '',
      routingKey: delayed ? delayRoutingKey(delayMs / 1000, queue) : queue,
      durable: true,
    }
    await publisher.send(envelope, message.body)
  }

  const producer: TaskProducer & {
    publish: typeof publish
    sendEncoded(opts: EncodeTaskOptions & { queue?: string }): Promise<string>
    close(): Promise<void>
  } = {
    async send(
      name: string,
      args: unknown[] = [],
      kwargs: Record<string, unknown> = {},
      opts: SendOptions = {},
    ) {
      const now = Date.now()
      const eta = opts.eta ?? (opts.countdown ? new Date(now + opts.countdown * 1000) : undefined)
      const expires = typeof opts.expires === 'number' ? new Date(now + opts.expires * 1000) : opts.expires
      return producer.sendEncoded({
        name,
        args,
        kwargs,
        taskId: opts.taskId,
        eta,
        expires,
        queue: opts.queue,
        priority: opts.priority,
        timeLimit:
          opts.timeLimit || opts.softTimeLimit
            ? { hard: opts.timeLimit, soft: opts.softTimeLimit }
            : undefined,
      })
    },

    async sendEncoded(opts) {
      const queue = opts.queue ?? options.queueFor?.(opts.name) ?? options.defaultQueue ?? DEFAULT_QUEUE
      const encoded = encodeTask(opts)
      // Expiry is the worker's job (it records REVOKED); a broker-side `expiration` would drop the message
      // silently and leave the task PENDING forever.
      const { expiration: _dropped, ...properties } = encoded.properties
      const delayMs = opts.eta ? opts.eta.getTime() - Date.now() : 0
      await publish(queue, { body: encoded.body, properties }, delayMs)
      options.onSent?.(opts, encoded.taskId, queue)
      return encoded.taskId
    },

    publish,
    close: () => publisher.close(),
  }
  return producer
}

export type Producer = ReturnType<typeof createProducer>
