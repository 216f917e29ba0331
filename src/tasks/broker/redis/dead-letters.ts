import type { Redis } from 'ioredis'
import { type DeadLetter, describeDeadLetter, replayMessage } from '../../dlq.ts'
import type { Producer } from '../../producer.ts'
import { DEAD_LETTER_QUEUE } from '../../topology.ts'
import { consumeKeys, decodeEnvelope } from './kombu.ts'

/** Every dead letter as [list key, exact item, decoded], oldest first (LPUSHed: the oldest is at the right). */
async function readDeadLetters(client: Redis, limit: number) {
  const out: { key: string; item: string; info: DeadLetter; delivery: ReturnType<typeof decodeEnvelope> }[] =
    []
  for (const key of consumeKeys(DEAD_LETTER_QUEUE)) {
    const items = await client.lrange(key, -limit, -1)
    for (const item of items.reverse()) {
      const delivery = decodeEnvelope(item, '')
      out.push({ key, item, delivery, info: describeDeadLetter(delivery.message) })
      if (out.length >= limit) return out
    }
  }
  return out
}

/** The dead-letter list `hotspot.dlq` (kombu envelopes, as any queue on this broker), read without taking. */
export async function listRedisDeadLetters(client: Redis, limit = 10_000): Promise<DeadLetter[]> {
  return (await readDeadLetters(client, limit)).map((d) => d.info)
}

/** Sends the selected dead letters back: published to their queue first, then removed from the list. */
export async function replayRedisDeadLetters(
  client: Redis,
  producer: Producer,
  select: (info: DeadLetter) => boolean,
): Promise<string[]> {
  const replayed: string[] = []
  for (const { key, item, info, delivery } of await readDeadLetters(client, 10_000)) {
    if (!select(info) || !info.queue) continue
    await producer.publish(info.queue, replayMessage(delivery.message))
    await client.lrem(key, 1, item)
    replayed.push(info.taskId ?? '?')
  }
  return replayed
}
