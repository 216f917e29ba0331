import type { Connection, SyncMessage } from 'rabbitmq-client'
import { type Producer, type RawMessage, rawMessage } from './producer.ts'
import { DEAD_LETTER_QUEUE } from './topology.ts'

export interface DeadLetter {
  taskId: string | null
  task: string | null
  reason: string | null
  error: string | null
  queue: string | null
  deadAt: string | null
}

/** What a dead letter's headers say (hotspot's x-hotspot-* headers, written when it was dead-lettered). */
export function describeDeadLetter(msg: Pick<SyncMessage, 'headers' | 'correlationId'>): DeadLetter {
  const h = (msg.headers ?? {}) as Record<string, unknown>
  const str = (v: unknown) => (typeof v === 'string' ? v : null)
  return {
    taskId: str(h.id) ?? str(msg.correlationId),
    task: str(h.task),
    // The worker's own headers, else the broker's (a quorum queue's delivery limit: `delivery_limit`).
    reason: str(h['x-hotspot-reason']) ?? str(h['x-first-death-reason']),
    error: str(h['x-hotspot-error']),
    queue: str(h['x-hotspot-queue']) ?? str(h['x-first-death-queue']),
    deadAt: str(h['x-hotspot-dead-at']),
  }
}

/**
 * Reads the dead-letter queue without losing anything: messages are fetched unacknowledged on a channel of
 * their own, and closing that channel puts back every one not replayed.
 */
async function withDeadLetters<T>(
  amqp: Connection,
  visit: (messages: { msg: SyncMessage; info: DeadLetter }[], ack: (msg: SyncMessage) => void) => Promise<T>,
  limit = 10_000,
): Promise<T> {
  const channel = await amqp.acquire()
  try {
    await channel.queueDeclare({ queue: DEAD_LETTER_QUEUE, passive: true })
    const messages: { msg: SyncMessage; info: DeadLetter }[] = []
    while (messages.length < limit) {
      const msg = await channel.basicGet({ queue: DEAD_LETTER_QUEUE, noAck: false })
      if (!msg) break
      messages.push({ msg, info: describeDeadLetter(msg) })
    }
    return await visit(messages, (msg) => channel.basicAck({ deliveryTag: msg.deliveryTag }))
  } finally {
    await channel.close() // unacked messages go back to the queue
  }
}

export function listDeadLetters(amqp: Connection, limit?: number): Promise<DeadLetter[]> {
  return withDeadLetters(amqp, async (messages) => messages.map((m) => m.info), limit)
}

/** Sends dead letters back to the queue they came from, with their retry count reset. Returns the ids replayed. */
export function replayDeadLetters(
  amqp: Connection,
  producer: Producer,
  select: (info: DeadLetter) => boolean,
): Promise<string[]> {
  return withDeadLetters(amqp, async (messages, ack) => {
    const replayed: string[] = []
    for (const { msg, info } of messages) {
      if (!select(info) || !info.queue) continue
      const message = replayMessage(msg)
      await producer.publish(info.queue, message) // confirmed before the dead letter is acked
      ack(msg)
      replayed.push(info.taskId ?? '?')
    }
    return replayed
  })
}

/** A dead letter as it is sent back: hotspot's dead-letter headers and x-death gone, retries reset. */
export function replayMessage(
  msg: Pick<
    SyncMessage,
    'body' | 'headers' | 'contentType' | 'contentEncoding' | 'correlationId' | 'replyTo' | 'priority'
  >,
): RawMessage {
  const headers = { ...(msg.headers ?? {}), retries: 0 } as Record<string, unknown>
  for (const key of Object.keys(headers))
    if (/^x-(hotspot-|first-death-|last-death-)/.test(key) || key === 'x-death') delete headers[key]
  return rawMessage(msg, headers)
}
