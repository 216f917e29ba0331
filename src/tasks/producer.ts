import type { Envelope } from 'rabbitmq-client'
import type { Broker } from './broker/types.ts'
import { type EncodeTaskOptions, encodeTask, type TaskProperties } from './message.ts'
import { DEFAULT_QUEUE } from './topology.ts'
import type { SendOptions, TaskProducer } from './types.ts'

export interface RawMessage {
  body: Buffer
  properties: Omit<Envelope, 'exchange' | 'routingKey'>
}

/** The properties of a delivered message that travel with it when it is published again. */
export type Republishable = Pick<
  Envelope,
  'contentType' | 'contentEncoding' | 'correlationId' | 'replyTo' | 'priority'
> & { body: unknown; headers?: Record<string, unknown> }

/** A delivered message ready to publish again (eta reroute, dead letter, replay), with the headers given. */
export function rawMessage(
  msg: Republishable,
  headers: Record<string, unknown> = { ...msg.headers },
): RawMessage {
  const body = Buffer.isBuffer(msg.body)
    ? msg.body
    : Buffer.from(typeof msg.body === 'string' ? msg.body : JSON.stringify(msg.body))
  return {
    body,
    properties: {
      contentType: msg.contentType,
      contentEncoding: msg.contentEncoding,
      correlationId: msg.correlationId,
      replyTo: msg.replyTo,
      priority: msg.priority,
      headers,
    },
  }
}

/** The properties without `expiration`, copied only when it is there (not a copy of every message's). */
function withoutExpiration(properties: TaskProperties): Omit<TaskProperties, 'expiration'> {
  if (properties.expiration === undefined) return properties
  const { expiration: _dropped, ...rest } = properties
  return rest
}

/**
 * Publishes Celery protocol v2 messages: persistent and confirmed (send resolves once the broker has the
 * message), to the queue as Celery does (RabbitMQ: default exchange, routing key = queue; Redis: kombu's list).
 * A countdown or eta waits in the broker (delay levels, or Redis' delayed set), so no worker holds the message.
 */
export function createProducer(options: {
  broker: Broker
  /** The queue a task name goes to when the caller names none (the task's registered queue). */
  queueFor?: (name: string) => string | undefined
  /** For tasks this process does not know: Celery's `celery` unless configured. */
  defaultQueue?: string
  /** Called once the broker has a task message (Celery's `task-sent` event hangs here). */
  onSent?: (opts: EncodeTaskOptions, taskId: string, queue: string) => void
  /** Counts every task message sent (`hotspot_tasks_sent_total`): calls, chain steps, callbacks and retries. */
  metrics?: { sent: { inc(labels: { task: string }): void } }
}) {
  const { broker } = options

  /** Publishes an already-encoded message to a queue, now or after `delayMs` (retries, replays, eta reroutes). */
  const publish: Broker['publish'] = (queue, message, delayMs = 0, opts) =>
    broker.publish(queue, message, delayMs, opts)

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
      const properties = withoutExpiration(encoded.properties)
      const delayMs = opts.eta ? opts.eta.getTime() - Date.now() : 0
      await publish(queue, { body: encoded.body, properties }, delayMs)
      options.metrics?.sent.inc({ task: opts.name })
      options.onSent?.(opts, encoded.taskId, queue)
      return encoded.taskId
    },

    publish,
    close: () => broker.close(),
  }
  return producer
}

export type Producer = ReturnType<typeof createProducer>
