import { randomUUID } from 'node:crypto'
import type { Connection } from 'rabbitmq-client'
import { PIDBOX_EXCHANGE, REPLY_EXCHANGE } from './mailbox.ts'

export interface BroadcastOptions {
  method: string
  arguments?: Record<string, unknown>
  /** Node names (`name@host`); none: every worker, Python or hotspot. */
  destination?: string[]
  /** How long to collect replies (Celery's default: 1 s). */
  timeoutMs?: number
  /** false: fire and forget (shutdown, heartbeat). */
  reply?: boolean
}

/** One reply per node: `{hostname: reply}`, as kombu's Mailbox._broadcast collects them. */
export type NodeReply = Record<string, unknown>

/**
 * Celery's `app.control.broadcast` (kombu.pidbox Mailbox, namespace `celery`): the request goes to the fanout
 * exchange `celery.pidbox` as `{method, arguments, destination, pattern, matcher, ticket, reply_to}`; replies come
 * back on `reply.celery.pidbox` with our oid as routing key, into a queue `<oid>.reply.celery.pidbox` declared as
 * kombu declares it. Replies with another ticket (a late answer to an earlier call) are ignored. Collects until
 * every named destination answered or the timeout passed.
 */
export async function broadcast(amqp: Connection, options: BroadcastOptions): Promise<NodeReply[]> {
  const timeoutMs = options.timeoutMs ?? 1000
  const wantReply = options.reply ?? true
  const oid = randomUUID()
  const ticket = randomUUID()
  const replies: NodeReply[] = []
  const queue = `${oid}.${REPLY_EXCHANGE}`
  let done: () => void = () => {}
  const finished = new Promise<void>((resolve) => {
    done = resolve
  })
  const consumer = wantReply
    ? amqp.createConsumer(
        {
          queue,
          queueOptions: {
            durable: false,
            autoDelete: true,
            arguments: { 'x-expires': 10_000, 'x-message-ttl': 300_000 },
          },
          exchanges: [{ exchange: REPLY_EXCHANGE, type: 'direct', durable: false, autoDelete: false }],
          queueBindings: [{ queue, exchange: REPLY_EXCHANGE, routingKey: oid }],
          noAck: true,
        },
        (msg) => {
          if (msg.headers?.ticket !== ticket) return
          const body = Buffer.isBuffer(msg.body) ? safeJson(msg.body.toString('utf8')) : msg.body
          if (!body || typeof body !== 'object' || Array.isArray(body)) return
          replies.push(body as NodeReply)
          if (options.destination && replies.length >= options.destination.length) done()
        },
      )
    : undefined
  const publisher = amqp.createPublisher({
    confirm: true,
    maxAttempts: 1,
    exchanges: [{ exchange: PIDBOX_EXCHANGE, type: 'fanout', durable: false, autoDelete: false }],
  })
  try {
    if (consumer) await readyWithin(consumer, 10_000)
    await publisher.send(
      {
        exchange: PIDBOX_EXCHANGE,
        routingKey: '',
        contentType: 'application/json',
        contentEncoding: 'utf-8',
        headers: { clock: 1, expires: Date.now() / 1000 + timeoutMs / 1000 },
      },
      {
        method: options.method,
        arguments: options.arguments ?? {},
        destination: options.destination ?? null,
        pattern: null,
        matcher: null,
        ...(wantReply ? { ticket, reply_to: { exchange: REPLY_EXCHANGE, routing_key: oid } } : {}),
      },
    )
    if (consumer) {
      const timer = setTimeout(done, timeoutMs)
      await finished
      clearTimeout(timer)
    }
    return replies
  } finally {
    await consumer?.close()
    await publisher.close()
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

function readyWithin(consumer: { once(event: 'ready', cb: () => void): unknown }, ms: number) {
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`RabbitMQ did not accept the reply queue within ${ms / 1000} s`)),
      ms,
    )
    consumer.once('ready', () => {
      clearTimeout(timer)
      resolve()
    })
  })
}
