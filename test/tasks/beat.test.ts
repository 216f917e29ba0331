import { randomUUID } from 'node:crypto'
import { Cluster } from 'ioredis'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { createLogger } from '../../src/infra/logger.ts'
import { createRedis, loadScripts } from '../../src/infra/redis.ts'
import { createBeat } from '../../src/tasks/beat.ts'
import type { BrokerKind } from '../../src/tasks/broker/types.ts'
import type { TaskProducer } from '../../src/tasks/types.ts'
import { onCluster, startTestApp, type TestApp } from '../support/app.ts'
import { startPrivateRedis } from './support/private-redis.ts'

describe('beat', () => {
  it('a tick whose publish fails is not lost: its claim is released and the same tick is fired on the next try', async () => {
    const redis = createRedis(inject('redisUrl'))
    loadScripts(redis, new URL('../../src/tasks/', import.meta.url))
    const prefix = `beat${randomUUID().slice(0, 8)}`
    let failures = 2
    let sent = 0
    // The broker refusing the first two publishes (as while RabbitMQ is down), then accepting.
    const producer: TaskProducer = {
      async send() {
        if (failures-- > 0) throw new Error('publish failed')
        sent++
        return randomUUID()
      },
    }
    const beat = createBeat({
      redis,
      producer,
      log: createLogger('silent'),
      prefix,
      lockTtlMs: 2000,
      tickMs: 50,
    })
    beat.add({ name: 'every', everySeconds: 1, task: 'hotspot.ping' })
    try {
      beat.start()
      const deadline = Date.now() + 10_000
      while (sent < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
    } finally {
      await beat.stop()
    }
    // Every claimed tick was published: none is held by a claim whose publish failed.
    const nodes = redis instanceof Cluster ? redis.nodes('master') : [redis]
    const claims = (await Promise.all(nodes.map((n) => n.keys(`${prefix}:beat:fired:every:*`)))).flat()
    expect(failures).toBeLessThan(0)
    expect(claims).toHaveLength(sent)
    redis.disconnect()
  })
})

// The schedule's tasks through the real broker and worker, on both brokers (Redis: kombu's transport, Redis-only).
describe.each<BrokerKind>(['amqp', 'redis'])('beat firing through the %s broker', (kind) => {
  let app: TestApp
  let broker: Awaited<ReturnType<typeof startPrivateRedis>> | undefined
  const runs: { taskId: string; args: unknown[] }[] = []

  beforeAll(async () => {
    broker = kind === 'redis' && !onCluster ? await startPrivateRedis() : undefined
    if (kind === 'redis' && !broker) return
    app = await startTestApp(broker ? { amqpUrl: undefined, env: { BROKER_URL: broker.url } } : {})
    expect(app.tasks.broker.kind).toBe(kind)
    app.tasks.registry.register('test.tick', (args, _kwargs, ctx) => {
      runs.push({ taskId: ctx.taskId, args })
      return 'ticked'
    })
    app.tasks.beat.add({
      name: 'tick',
      everySeconds: 1,
      task: 'test.tick',
      args: [7],
      queue: app.config.tasks.ownQueue,
    })
    await app.start(['worker', 'beat'])
  })
  afterAll(async () => {
    await app?.close()
    await broker?.stop()
  })

  it.skipIf(kind === 'redis' && onCluster)(
    'each tick is one task, run by the worker with its args',
    async () => {
      await expect.poll(() => runs.length, { timeout: 20_000 }).toBeGreaterThanOrEqual(3)
      await app.tasks.beat.stop()
      const ids = runs.map((r) => r.taskId)
      expect(new Set(ids).size).toBe(ids.length)
      expect(runs.every((r) => JSON.stringify(r.args) === '[7]')).toBe(true)
      for (const id of ids)
        expect(await app.tasks.results.wait(id, 10_000)).toMatchObject({
          status: 'SUCCESS',
          result: 'ticked',
        })
    },
  )
})
