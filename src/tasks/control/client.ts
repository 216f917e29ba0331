import { randomUUID } from 'node:crypto'
import type { CeleryBus } from '../broker/celery-bus.ts'
import { PIDBOX, PIDBOX_REPLY, REPLY_EXCHANGE } from './mailbox.ts'

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
 * kombu declares it (on Redis: PUBLISH on `/{db}.celery.pidbox`, replies pushed onto the list of that name, bound in
 * `_kombu.binding.reply.celery.pidbox`). Replies with another ticket (a late answer to an earlier call) are
 * ignored. Collects until every named destination answered or the timeout passed.
 */
export async function broadcast(bus: CeleryBus, options: BroadcastOptions): Promise<NodeReply[]> {
  const timeoutMs = options.timeoutMs ?? 1000
  const wantReply = options.reply ?? true
  const oid = randomUUID()
  const ticket = randomUUID()
  const replies: NodeReply[] = []
  let done: () => void = () => {}
  const finished = new Promise<void>((resolve) => {
    done = resolve
  })
  const subscription = wantReply
    ? bus.consume(
        {
          queue: `${oid}.${REPLY_EXCHANGE}`,
          exchange: PIDBOX_REPLY,
          routingKey: oid,
          arguments: { 'x-expires': 10_000, 'x-message-ttl': 300_000 },
        },
        (msg) => {
          if (msg.headers.ticket !== ticket) return
          const body = msg.body
          if (!body || typeof body !== 'object' || Array.isArray(body)) return
          replies.push(body as NodeReply)
          if (options.destination && replies.length >= options.destination.length) done()
        },
      )
    : undefined
  try {
    if (subscription) await readyWithin(subscription.ready, 10_000, bus.kind)
    await bus.publish(
      PIDBOX,
      '',
      {
        method: options.method,
        arguments: options.arguments ?? {},
        destination: options.destination ?? null,
        pattern: null,
        matcher: null,
        ...(wantReply ? { ticket, reply_to: { exchange: REPLY_EXCHANGE, routing_key: oid } } : {}),
      },
      { clock: 1, expires: Date.now() / 1000 + timeoutMs / 1000 },
      { confirm: true },
    )
    if (subscription) {
      const timer = setTimeout(done, timeoutMs)
      await finished
      clearTimeout(timer)
    }
    return replies
  } finally {
    await subscription?.close()
  }
}

function readyWithin(ready: Promise<void>, ms: number, kind: CeleryBus['kind']) {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    const broker = kind === 'amqp' ? 'RabbitMQ' : 'the Redis broker'
    timer = setTimeout(
      () => reject(new Error(`${broker} did not accept the reply queue within ${ms / 1000} s`)),
      ms,
    )
  })
  return Promise.race([ready, timeout]).finally(() => clearTimeout(timer))
}
