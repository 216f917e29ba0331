/**
 * The Redis broker batches what kombu's protocol allows: one kombuFetch takes many messages, one kombuAck acks
 * the handlers that finished together. The semantics stay kombu's: acked late (after the result is stored), a
 * killed worker's whole fetched batch comes back through the visibility timeout, every message runs once.
 */
import type { Redis } from 'ioredis'
import { ConsumerStatus } from 'rabbitmq-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createLogger } from '../../../src/infra/logger.ts'
import { UNACKED, UNACKED_INDEX } from '../../../src/tasks/broker/redis/kombu.ts'
import { createRedisBroker } from '../../../src/tasks/broker/redis/transport.ts'
import type { BrokerMessage } from '../../../src/tasks/broker/types.ts'
import { encodeTask } from '../../../src/tasks/message.ts'
import { resultKey } from '../../../src/tasks/result-meta.ts'
import { onCluster, startTestApp, type TestApp } from '../../support/app.ts'
import { startPrivateRedis } from '../support/private-redis.ts'

const log = createLogger('silent')
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
type ScriptFn = (...args: (string | number)[]) => Promise<unknown>

/** Records every call of a loaded script on this client (the real script still runs). */
function watchScript(client: Redis, name: string, before?: (args: string[]) => Promise<void>) {
  const target = client as unknown as Record<string, ScriptFn>
  const original = target[name] as ScriptFn
  const calls: { args: string[]; result: unknown }[] = []
  // ioredis copies a client's script functions onto its (auto-)pipelines: there, run the original untouched.
  target[name] = async function (this: unknown, ...args) {
    if (this !== client) return original.apply(this, args)
    const strings = args.map(String)
    await before?.(strings)
    const result = await original.apply(client, args)
    calls.push({ args: strings, result })
    return result
  }
  return calls
}

const task = (args: unknown[] = []) => {
  const e = encodeTask({ name: 'test.batch', args })
  return { taskId: e.taskId, message: { body: e.body, properties: e.properties } }
}

describe('Redis broker batching (one script per batch)', () => {
  let server: Awaited<ReturnType<typeof startPrivateRedis>>
  let raw: Redis
  const brokers: ReturnType<typeof createRedisBroker>[] = []
  const broker = (visibilityTimeoutSeconds = 3600) => {
    const b = createRedisBroker({ client: server.client(), log, visibilityTimeoutSeconds })
    brokers.push(b)
    return b
  }
  let n = 0
  const freshQueue = () => `batch${++n}`
  const publishAll = (b: ReturnType<typeof createRedisBroker>, queue: string, count: number) =>
    Promise.all(
      Array.from({ length: count }, async (_, i) => {
        const t = task([i])
        await b.publish(queue, t.message)
        return t.taskId
      }),
    )

  beforeAll(async () => {
    server = await startPrivateRedis()
    raw = server.client()
  })
  afterAll(async () => {
    for (const b of brokers) await b.close()
    await server.stop()
  })

  it('publishes of one turn to a list are one LPUSH per 200, in publish order, each answered once Redis has it', async () => {
    const queue = freshQueue()
    const b = broker()
    await b.ensureQueue(queue)
    const lpushes = async () =>
      Number(/cmdstat_lpush:calls=(\d+)/.exec(await raw.info('commandstats'))?.[1] ?? 0)
    const before = await lpushes()
    const ids = await publishAll(b, queue, 450)
    expect((await lpushes()) - before).toBe(3)
    // kombu consumes from the right end: the first published is the first out.
    const out = await raw.lrange(queue, 0, -1)
    expect(out.reverse().map((item) => JSON.parse(item).headers.id)).toEqual(ids)
  })

  it('handlers finishing together are acked by one kombuAck call, each after its handler returned', async () => {
    const queue = freshQueue()
    const b = broker()
    await publishAll(b, queue, 60)
    const returned = new Set<string>()
    const tagsOfReturned = new Set<string>()
    let unknownTags = 0
    const acks = watchScript(b.client, 'kombuAck', async (args) => {
      // args: unacked, unacked_index, tags...; every tag acked here belongs to a handler that already returned.
      for (const tag of args.slice(2)) if (!tagsOfReturned.has(tag)) unknownTags++
    })
    let release: (() => void) | undefined
    const gate = new Promise<void>((r) => (release = r))
    const consumer = b.consume(
      queue,
      { concurrency: 60, prefetch: 60 },
      async (msg) => {
        await gate
        returned.add(String(msg.headers?.id))
        return ConsumerStatus.ACK
      },
      () => {},
    )
    await expect.poll(() => raw.hlen(UNACKED)).toBe(60)
    // Tag of each running message, read from kombu's unacked hash (tag → [payload, exchange, routing key]).
    for (const tag of Object.keys(await raw.hgetall(UNACKED))) tagsOfReturned.add(tag)
    expect(acks).toHaveLength(0)
    release?.()
    await expect.poll(() => raw.hlen(UNACKED)).toBe(0)
    expect(returned.size).toBe(60)
    expect(unknownTags).toBe(0)
    expect(acks.map((c) => c.args.length - 2)).toEqual([60])
    expect(acks[0]?.result).toBe(60)
    expect(await raw.zcard(UNACKED_INDEX)).toBe(0)
    await consumer.close()
  })

  it("a handler's slot frees when it returns, before its ack lands; the unacked message still fills the prefetch window", async () => {
    const queue = freshQueue()
    const b = broker()
    const ids = await publishAll(b, queue, 3)
    let releaseAcks: (() => void) | undefined
    const acksHeld = new Promise<void>((r) => (releaseAcks = r))
    const acks = watchScript(b.client, 'kombuAck', () => acksHeld)
    const started: string[] = []
    const consumer = b.consume(
      queue,
      { concurrency: 1, prefetch: 2 },
      async (msg) => {
        started.push(String(msg.headers?.id))
        return ConsumerStatus.ACK
      },
      () => {},
    )
    // Concurrency 1: the second handler runs while the first one's ack is still held back.
    await expect.poll(() => started.length).toBe(2)
    expect(acks).toHaveLength(0)
    expect(await raw.hlen(UNACKED)).toBe(2)
    // Prefetch 2: both are unacked, so the third is not taken until an ack lands.
    await sleep(300)
    expect(started).toHaveLength(2)
    expect(await raw.llen(queue)).toBe(1)
    releaseAcks?.()
    await expect.poll(() => started.length).toBe(3)
    await expect.poll(() => raw.hlen(UNACKED)).toBe(0)
    await consumer.close()
    expect(started).toEqual(ids) // one at a time, in publish order
  })

  it('one kombuFetch takes a batch: while messages wait, it refills only a quarter of the window at once', async () => {
    const queue = freshQueue()
    const b = broker()
    const ids = await publishAll(b, queue, 300)
    const fetches = watchScript(b.client, 'kombuFetch')
    const seen = new Map<string, number>()
    const consumer = b.consume(
      queue,
      { concurrency: 10, prefetch: 40 },
      async (msg: BrokerMessage) => {
        const id = String(msg.headers?.id)
        seen.set(id, (seen.get(id) ?? 0) + 1)
        await sleep(1)
        return ConsumerStatus.ACK
      },
      () => {},
    )
    await expect.poll(() => seen.size, { timeout: 15_000 }).toBe(300)
    await consumer.close()
    expect([...seen.keys()].sort()).toEqual([...ids].sort())
    expect([...seen.values()].every((v) => v === 1)).toBe(true)
    const sizes = fetches.map((f) => (f.result as string[]).length / 2).filter((s) => s > 0)
    expect(sizes.reduce((a, s) => a + s, 0)).toBe(300)
    expect(sizes[0]).toBe(40)
    // Every fetch but the last (what was left) took at least a quarter of the window.
    for (const size of sizes.slice(0, -1)) expect(size).toBeGreaterThanOrEqual(10)
    expect(await raw.hlen(UNACKED)).toBe(0)
  })

  it("a killed worker's fetched batch comes back whole after the visibility timeout, then runs once each", async () => {
    const queue = freshQueue()
    // Not in `brokers`: it is never closed, it "dies".
    const dead = createRedisBroker({ client: server.client(), log, visibilityTimeoutSeconds: 1 })
    const ids = await publishAll(dead, queue, 10)
    let started = 0
    dead.consume(
      queue,
      { concurrency: 2, prefetch: 10 },
      async () => {
        started++
        return new Promise<ConsumerStatus>(() => {})
      },
      () => {},
    )
    await expect.poll(() => started).toBe(2)
    expect(await raw.hlen(UNACKED)).toBe(10) // 2 running + 8 fetched ahead, all recorded as unacked
    dead.client.disconnect() // as kill -9: no acks, no refreshes, no restore at shutdown
    await sleep(1100)
    const alive = broker(1)
    expect(await alive.restoreVisible()).toBe(10)
    expect(await raw.llen(queue)).toBe(10)
    const seen = new Map<string, number>()
    const consumer = alive.consume(
      queue,
      { concurrency: 4, prefetch: 8 },
      async (msg) => {
        expect(msg.redelivered).toBe(true)
        const id = String(msg.headers?.id)
        seen.set(id, (seen.get(id) ?? 0) + 1)
        return ConsumerStatus.ACK
      },
      () => {},
    )
    await expect.poll(() => seen.size).toBe(10)
    await consumer.close()
    expect([...seen.keys()].sort()).toEqual([...ids].sort())
    expect([...seen.values()].every((v) => v === 1)).toBe(true)
    expect(await raw.hlen(UNACKED)).toBe(0)
  })
})

describe.skipIf(onCluster)(
  'the worker on the Redis broker acks a batch only after its results are stored',
  () => {
    let server: Awaited<ReturnType<typeof startPrivateRedis>>
    let app: TestApp

    beforeAll(async () => {
      server = await startPrivateRedis()
      app = await startTestApp({ amqpUrl: undefined, env: { BROKER_URL: server.url } })
    })
    afterAll(async () => {
      await app?.close()
      await server?.stop()
    })

    it('every tag of every kombuAck call has its SUCCESS stored already; exact totals under concurrency', async () => {
      const client = (app.tasks.broker as unknown as { client: Redis }).client
      const raw = server.client()
      let early = 0
      const acks = watchScript(client, 'kombuAck', async (args) => {
        for (const tag of args.slice(2)) {
          const value = await raw.hget(UNACKED, tag)
          const id = value ? (JSON.parse(value) as [{ headers: { id: string } }])[0].headers.id : ''
          const stored = id ? await app.redis.get(resultKey(id)) : null
          if (!stored?.includes('"status": "SUCCESS"')) early++
        }
      })
      const queue = app.config.tasks.defaultQueue
      const ids = await Promise.all(
        Array.from({ length: 200 }, (_, i) => app.tasks.producer.send('hotspot.add', [i, 1], {}, { queue })),
      )
      await app.start(['worker'])
      const done = async () =>
        (await Promise.all(ids.map((id) => app.tasks.results.get(id)))).filter((s) => s.status === 'SUCCESS')
      await expect.poll(async () => (await done()).length, { timeout: 20_000 }).toBe(200)
      const states = await Promise.all(ids.map((id) => app.tasks.results.get(id)))
      expect(states.map((s) => s.result)).toEqual(ids.map((_, i) => i + 1))
      await expect.poll(() => raw.hlen(UNACKED)).toBe(0)
      const acked = acks.reduce((sum, c) => sum + c.args.length - 2, 0)
      expect(acked).toBe(200)
      expect(acks.length).toBeLessThan(200) // batched: fewer calls than messages
      expect(early).toBe(0)
    })
  },
)
