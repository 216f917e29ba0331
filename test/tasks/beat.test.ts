import { randomUUID } from 'node:crypto'
import { Cluster } from 'ioredis'
import { describe, expect, inject, it } from 'vitest'
import { createLogger } from '../../src/infra/logger.ts'
import { createRedis, loadScripts } from '../../src/infra/redis.ts'
import { createBeat } from '../../src/tasks/beat.ts'
import type { TaskProducer } from '../../src/tasks/types.ts'

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
