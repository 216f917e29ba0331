import fs from 'node:fs'
import path from 'node:path'
import type { Redis } from 'ioredis'
import { ConsumerStatus } from 'rabbitmq-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createLogger } from '../../../src/infra/logger.ts'
import {
  DELAYED,
  decodeEnvelope,
  encodeEnvelope,
  queueKey,
  SEP,
  UNACKED,
  UNACKED_INDEX,
  UNACKED_MUTEX,
} from '../../../src/tasks/broker/redis/kombu.ts'
import { createRedisBroker } from '../../../src/tasks/broker/redis/transport.ts'
import type { BrokerMessage } from '../../../src/tasks/broker/types.ts'
import { encodeTask } from '../../../src/tasks/message.ts'
import { startPrivateRedis } from '../support/private-redis.ts'

const fixtures = path.join(import.meta.dirname, '../../fixtures/celery/redis-broker')
const fixture = (name: string) =>
  JSON.parse(fs.readFileSync(path.join(fixtures, `${name}.json`), 'utf8')) as {
    task_id: string
    redis: Record<
      string,
      { type: string; items?: string[]; members?: unknown[]; fields?: Record<string, string> }
    >
  }
const log = createLogger('silent')
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const asMessage = (m: BrokerMessage) => ({
  body: m.body as Buffer,
  properties: {
    contentType: m.contentType,
    contentEncoding: m.contentEncoding,
    correlationId: m.correlationId,
    replyTo: m.replyTo,
    priority: m.priority,
    headers: m.headers,
  },
})

describe('kombu envelope (fixtures captured from Python Celery on Redis)', () => {
  it('a Python message decodes and encodes back to the same envelope', () => {
    const item = fixture('publish_send_task_plain').redis.celery?.items?.[0] as string
    const python = JSON.parse(item)
    const delivery = decodeEnvelope(item, python.properties.delivery_tag)
    expect(delivery.message.headers?.task).toBe('celapp.add')
    expect((delivery.message.body as Buffer).toString()).toBe(
      '[[2, 3], {}, {"callbacks": null, "errbacks": null, "chain": null, "chord": null}]',
    )
    const again = encodeEnvelope(asMessage(delivery.message), 'celery', python.properties.delivery_tag)
    expect(JSON.parse(again)).toEqual(python)
    // Same key order too (kombu's prepare_message, then Celery's properties).
    expect(Object.keys(JSON.parse(again).properties)).toEqual(Object.keys(python.properties))
  })

  it("hotspot's encoded task has the shape of Python's", () => {
    const item = fixture('publish_send_task_plain').redis.celery?.items?.[0] as string
    const python = JSON.parse(item)
    const encoded = encodeTask({ name: 'celapp.add', args: [2, 3], replyTo: python.properties.reply_to })
    const ours = JSON.parse(encodeEnvelope({ body: encoded.body, properties: encoded.properties }, 'celery'))
    expect(Object.keys(ours)).toEqual(Object.keys(python))
    expect(Object.keys(ours.headers)).toEqual(Object.keys(python.headers))
    expect(Object.keys(ours.properties)).toEqual(Object.keys(python.properties))
    expect(ours.body).toBe(python.body) // same args, same Python-style JSON, same base64
    expect(ours.properties.delivery_info).toEqual({ exchange: '', routing_key: 'celery' })
  })

  it('priorities go to the lists kombu names (0-2 main list, 3-5 \\x06\\x163, 9 \\x06\\x169)', () => {
    expect(Object.keys(fixture('publish_priority_5').redis)).toEqual([queueKey('celery', 5)])
    expect(Object.keys(fixture('publish_priority_9').redis)).toEqual([queueKey('celery', 9)])
    expect(queueKey('celery', 0)).toBe('celery')
    expect(queueKey('celery', 2)).toBe('celery')
    expect(queueKey('celery', 4)).toBe(`celery${SEP}3`)
  })

  it('a message from RabbitMQ with 64-bit headers (bigints) and a redelivered flag re-encodes as kombu would', () => {
    const encoded = encodeTask({ name: 'test.add', args: [1] })
    const headers = { ...encoded.properties.headers, retries: 2n, big: 2n ** 60n, redelivered: true }
    const envelope = JSON.parse(
      encodeEnvelope({ body: encoded.body, properties: { ...encoded.properties, headers } }, 'q'),
    )
    expect(envelope.headers.retries).toBe(2)
    expect(envelope.headers.big).toBe(String(2n ** 60n)) // past 2^53: as text, never a rounded number
    expect(envelope.headers).not.toHaveProperty('redelivered')
    expect(headers.redelivered).toBe(true) // the caller's object is left as it was
  })

  it('a restored Python message reads as redelivered', () => {
    const item = fixture('restored_after_visibility_timeout').redis.celery?.items?.[0] as string
    const delivery = decodeEnvelope(item, 'x')
    expect(delivery.message.redelivered).toBe(true)
    expect(delivery.message.headers).not.toHaveProperty('redelivered')
  })
})

describe('Redis broker (kombu transport) on a real Redis', () => {
  let server: Awaited<ReturnType<typeof startPrivateRedis>>
  let raw: Redis
  const brokers: ReturnType<typeof createRedisBroker>[] = []
  const broker = (visibilityTimeoutSeconds = 3600) => {
    const b = createRedisBroker({ client: server.client(), log, visibilityTimeoutSeconds, delayPollMs: 50 })
    brokers.push(b)
    return b
  }
  const task = (args: unknown[] = [1, 2], priority?: number) => {
    const e = encodeTask({ name: 'test.add', args, priority })
    return { taskId: e.taskId, message: { body: e.body, properties: e.properties } }
  }
  let n = 0
  const freshQueue = () => `q${++n}`

  beforeAll(async () => {
    server = await startPrivateRedis()
    raw = server.client()
  })
  afterAll(async () => {
    for (const b of brokers) await b.close()
    await server.stop()
  })

  it('publish: LPUSH of the envelope and the binding a Celery client writes', async () => {
    const queue = freshQueue()
    const b = broker()
    const first = task([1])
    const second = task([2])
    await b.publish(queue, first.message)
    await b.publish(queue, second.message)
    expect(await raw.smembers(`_kombu.binding.${queue}`)).toEqual([`${queue}${SEP}${SEP}${queue}`])
    const items = (await raw.lrange(queue, 0, -1)).map((i) => JSON.parse(i))
    // LPUSH: the oldest at the right end, which consumers take first.
    expect(items.map((i) => i.headers.id)).toEqual([second.taskId, first.taskId])
    await b.publish(queue, task([3], 7).message)
    expect(await raw.llen(`${queue}${SEP}6`)).toBe(1)
  })

  it('consume: FIFO, priority 0 first, unacked recorded while running and removed by the ack', async () => {
    const queue = freshQueue()
    const b = broker()
    const low = task(['low'], 9)
    const a = task(['a'])
    const c = task(['c'])
    await b.publish(queue, low.message)
    await b.publish(queue, a.message)
    await b.publish(queue, c.message)
    const seen: string[] = []
    let release: (() => void) | undefined
    const gate = new Promise<void>((r) => (release = r))
    const consumer = b.consume(
      queue,
      { concurrency: 1, prefetch: 1 },
      async (msg) => {
        seen.push(String(msg.headers?.id))
        if (seen.length === 1) await gate
        return ConsumerStatus.ACK
      },
      () => {},
    )
    await expect.poll(() => seen.length).toBe(1)
    const unacked = await raw.hgetall(UNACKED)
    expect(Object.keys(unacked)).toHaveLength(1)
    const [tag, value] = Object.entries(unacked)[0] as [string, string]
    const [payload, exchange, routingKey] = JSON.parse(value)
    expect([payload.headers.id, exchange, routingKey]).toEqual([a.taskId, '', queue])
    expect(payload.properties.delivery_tag).toBe(tag)
    expect(await raw.zscore(UNACKED_INDEX, tag)).not.toBeNull()
    release?.()
    await expect.poll(() => seen.length).toBe(3)
    expect(seen).toEqual([a.taskId, c.taskId, low.taskId])
    await consumer.close()
    expect(await raw.hlen(UNACKED)).toBe(0)
    expect(await raw.zcard(UNACKED_INDEX)).toBe(0)
  })

  it('a message published while the consumer waits is taken at once', async () => {
    const queue = freshQueue()
    const b = broker()
    const seen: string[] = []
    const consumer = b.consume(
      queue,
      { concurrency: 2, prefetch: 4 },
      async (msg) => {
        seen.push(String(msg.headers?.id))
        return ConsumerStatus.ACK
      },
      () => {},
    )
    await sleep(300)
    const t = task()
    await b.publish(queue, t.message)
    await expect.poll(() => seen, { timeout: 900 }).toEqual([t.taskId])
    await consumer.close()
  })

  it('REQUEUE gives the message back (LPUSH, flagged redelivered, as kombu reject(requeue=True))', async () => {
    const queue = freshQueue()
    const b = broker()
    const t = task()
    await b.publish(queue, t.message)
    const deliveries: boolean[] = []
    const consumer = b.consume(
      queue,
      { concurrency: 1, prefetch: 1 },
      async (msg) => {
        deliveries.push(msg.redelivered)
        return deliveries.length === 1 ? ConsumerStatus.REQUEUE : ConsumerStatus.ACK
      },
      () => {},
    )
    await expect.poll(() => deliveries).toEqual([false, true])
    await consumer.close()
    expect(await raw.hlen(UNACKED)).toBe(0)
  })

  it("a dead consumer's message comes back after the visibility timeout, at the front, redelivered", async () => {
    const queue = freshQueue()
    // Not in `brokers`: it is never closed, it "dies".
    const dead = createRedisBroker({ client: server.client(), log, visibilityTimeoutSeconds: 1 })
    const t = task(['dead'])
    const other = task(['behind'])
    await dead.publish(queue, t.message)
    // A consumer that takes the message and never settles it, and whose process "dies" (no close, no timers).
    let taken = false
    dead.consume(
      queue,
      { concurrency: 1, prefetch: 1 },
      async () => {
        taken = true
        return new Promise<ConsumerStatus>(() => {})
      },
      () => {},
    )
    await expect.poll(() => taken).toBe(true)
    dead.client.disconnect() // no more refreshes, acks or fetches: as kill -9
    await raw.lpush(queue, encodeEnvelope(other.message, queue))
    const alive = broker(1)
    expect(await alive.restoreVisible()).toBe(0) // not yet past the timeout
    await sleep(1100)
    await raw.set(UNACKED_MUTEX, 'someone else', 'PX', 5000)
    expect(await alive.restoreVisible()).toBe(0) // kombu's mutex: another restorer is at work
    await raw.del(UNACKED_MUTEX)
    expect(await alive.restoreVisible()).toBe(1)
    const front = JSON.parse((await raw.lindex(queue, -1)) as string)
    expect(front.headers.id).toBe(t.taskId)
    expect(front.headers.redelivered).toBe(true)
    expect(front.properties.delivery_info.redelivered).toBe(true)
    expect(await raw.hlen(UNACKED)).toBe(0)
    await raw.del(queue)
  })

  it('a slow task held past the visibility timeout is not restored under it', async () => {
    const queue = freshQueue()
    const worker = broker(1)
    const restorer = broker(1)
    const t = task()
    await worker.publish(queue, t.message)
    let runs = 0
    const consumer = worker.consume(
      queue,
      { concurrency: 1, prefetch: 1 },
      async () => {
        runs++
        await sleep(2500)
        return ConsumerStatus.ACK
      },
      () => {},
    )
    await expect.poll(() => runs).toBe(1)
    for (let i = 0; i < 4; i++) {
      await sleep(500)
      expect(await restorer.restoreVisible()).toBe(0)
    }
    await consumer.close()
    expect(runs).toBe(1)
    expect(await raw.llen(queue)).toBe(0)
  })

  it('delays wait in the delayed set and are moved to their list when due', async () => {
    const queue = freshQueue()
    const b = broker()
    const t = task([], 5)
    await b.publish(queue, t.message, 800)
    expect(await raw.zcard(DELAYED)).toBe(1)
    expect(await b.moveDue()).toBe(0)
    expect(await raw.llen(queue)).toBe(0)
    await sleep(850)
    await b.moveDue() // or another broker's timer did
    const [item] = await raw.lrange(`${queue}${SEP}3`, 0, -1)
    expect(JSON.parse(item as string).headers.id).toBe(t.taskId)
    expect(await raw.zcard(DELAYED)).toBe(0)
  })

  it('concurrent consumers on one queue run every message exactly once', async () => {
    const queue = freshQueue()
    const b1 = broker()
    const b2 = broker()
    const ids = await Promise.all(
      Array.from({ length: 200 }, async (_, i) => {
        const t = task([i])
        await b1.publish(queue, t.message)
        return t.taskId
      }),
    )
    const seen = new Map<string, number>()
    const handler = async (msg: BrokerMessage) => {
      const id = String(msg.headers?.id)
      seen.set(id, (seen.get(id) ?? 0) + 1)
      return ConsumerStatus.ACK
    }
    const c1 = b1.consume(queue, { concurrency: 4, prefetch: 8 }, handler, () => {})
    const c2 = b2.consume(queue, { concurrency: 4, prefetch: 8 }, handler, () => {})
    await expect.poll(() => seen.size, { timeout: 10_000 }).toBe(200)
    await Promise.all([c1.close(), c2.close()])
    expect([...seen.keys()].sort()).toEqual([...ids].sort())
    expect([...seen.values()].every((v) => v === 1)).toBe(true)
    expect(await raw.hlen(UNACKED)).toBe(0)
  })
})
