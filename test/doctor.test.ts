import { randomUUID } from 'node:crypto'
import os from 'node:os'
import { describe, expect, inject, it } from 'vitest'
import { loadConfig } from '../src/config.ts'
import { runDoctor } from '../src/doctor/index.ts'
import { createAmqp } from '../src/infra/amqp.ts'
import { createDb, migrateToLatest } from '../src/infra/db/index.ts'
import { createLogger } from '../src/infra/logger.ts'
import { presenceKey } from '../src/infra/presence.ts'
import { createRedis } from '../src/infra/redis.ts'
import { freshDatabaseUrl, onCluster, startTestApp } from './support/app.ts'

describe('hotspot doctor', () => {
  it('reports pending migrations, then all clear once migrated, and a queue declared with another type', async () => {
    const databaseUrl = await freshDatabaseUrl('sqlite')
    const prefix = `doc${randomUUID().slice(0, 6)}`
    const env = {
      REDIS_URL: inject('redisUrl'),
      AMQP_URL: inject('amqpUrl'),
      DATABASE_URL: databaseUrl,
      CELERY_DEFAULT_QUEUE: `${prefix}.celery`,
      HOTSPOT_TASK_QUEUE: `${prefix}.hotspot`,
      HOTSPOT_KEY_PREFIX: prefix, // processes other tests start on this Redis are not this deployment's
    }
    const lines: string[] = []
    expect(await runDoctor(loadConfig(env), (l) => lines.push(l))).toBe(false)
    expect(lines.find((l) => l.includes('migrations'))).toMatch(/PROBLEM.*0001_items/)
    expect(lines.find((l) => l.includes('clock'))).toMatch(/^ok/)

    const db = createDb(databaseUrl)
    await migrateToLatest(db)
    await db.destroy()
    lines.length = 0
    // The test Redis runs with AOF on, the queues do not exist yet: nothing to complain about.
    expect(await runDoctor(loadConfig(env), (l) => lines.push(l))).toBe(true)
    expect(lines.at(-1)).toBe('everything looks fine')

    // A classic queue exists; a deployment now says quorum: the doctor names the mismatch.
    lines.length = 0
    const amqp = createAmqp(inject('amqpUrl'), createLogger('silent'))
    await amqp.queueDeclare({ queue: `${prefix}.hotspot`, durable: true })
    await amqp.close()
    expect(await runDoctor(loadConfig({ ...env, AMQP_QUEUE_TYPE: 'quorum' }), (l) => lines.push(l))).toBe(
      false,
    )
    expect(lines.find((l) => l.includes(`queue ${prefix}.hotspot`))).toMatch(/PROBLEM.*inequivalent arg 'x-/)
  })
})

// One Redis URL to put a password in: the cluster profile's is a list of nodes (its redaction is in config.test.ts).
describe.skipIf(onCluster)('hotspot doctor: passwords', () => {
  it('never prints the password of a URL (the README form redis://:password@host among them)', async () => {
    const redis = new URL(inject('redisUrl'))
    redis.password = 's3cret' // this Redis needs none: ioredis warns and goes on, so the check passes
    const lines: string[] = []
    await runDoctor(
      loadConfig({
        REDIS_URL: redis.href,
        AMQP_URL: inject('amqpUrl'),
        DATABASE_URL: await freshDatabaseUrl('sqlite'),
      }),
      (l) => lines.push(l),
    )
    expect(lines.find((l) => l.includes('redis:'))).toMatch(/^ok .*reachable at redis:\/\/:\*\*\*@/)
    expect(lines.join('\n')).not.toContain('s3cret')
  })
})

describe('hotspot doctor: the deployment’s processes', () => {
  it('lists every running process with its clock, names a skewed clock and a role nobody runs', async () => {
    const databaseUrl = await freshDatabaseUrl('sqlite')
    const api = await startTestApp({ databaseUrl })
    const worker = await startTestApp({ databaseUrl, keyPrefix: api.prefix })
    const env = {
      REDIS_URL: inject('redisUrl'),
      AMQP_URL: inject('amqpUrl'),
      DATABASE_URL: databaseUrl,
      CELERY_DEFAULT_QUEUE: `${api.prefix}.celery`,
      HOTSPOT_TASK_QUEUE: `${api.prefix}.hotspot`,
      HOTSPOT_KEY_PREFIX: api.prefix,
      AMQP_QUEUE_TYPE: api.config.amqpQueueType, // quorum in the cluster profile: as the apps declared them
    }
    const doctor = async () => {
      const lines: string[] = []
      const ok = await runDoctor(loadConfig(env), (l) => lines.push(l))
      return { ok, lines }
    }
    const redis = createRedis(inject('redisUrl'), { log: createLogger('silent') })
    try {
      await api.start(['api'])
      await worker.start(['worker'])
      let report = await doctor()
      for (const role of ['api', 'worker']) {
        const self = `process ${os.hostname()}:${process.pid} (${role})`
        expect(report.lines.find((l) => l.includes(self))).toMatch(/^ok .*clock within \d+ ms of Redis/)
      }
      expect(report.lines.find((l) => l.includes('role beat'))).toMatch(/PROBLEM.*never fires.*hotspot beat/)
      expect(report.ok).toBe(false)

      // Another machine's beat whose clock runs 2.5 s ahead (as its heartbeat reports it), and one that died a
      // minute ago without saying so.
      const [seconds] = await redis.time()
      const now = Number(seconds) * 1000
      const entry = (pid: number, seenAt: number, clockSkewMs: number) =>
        JSON.stringify({ host: 'beat-host', pid, roles: ['beat'], startedAt: 'x', seenAt, clockSkewMs })
      await redis.hset(presenceKey(api.prefix), 'beat-host:7', entry(7, now, 2500))
      await redis.hset(presenceKey(api.prefix), 'beat-host:8', entry(8, now - 60_000, 0))
      report = await doctor()
      expect(report.lines.find((l) => l.includes('beat-host:7'))).toMatch(
        /^PROBLEM .*its clock is 2500 ms ahead of Redis/,
      )
      expect(report.lines.find((l) => l.includes('role beat'))).toMatch(/^ok .*1 process running/)
      expect(report.lines.some((l) => l.includes('beat-host:8'))).toBe(false)
      expect(await redis.hexists(presenceKey(api.prefix), 'beat-host:8')).toBe(0) // pruned

      // The skewed machine fixed; a cleanly stopped process leaves the list at once.
      await redis.hset(presenceKey(api.prefix), 'beat-host:7', entry(7, now, 40))
      expect((await doctor()).ok).toBe(true)
      await worker.close()
      await api.close()
      expect(await redis.hkeys(presenceKey(api.prefix))).toEqual(['beat-host:7'])
    } finally {
      // A second close (all the cleanup a failed assertion gets) must not hang.
      await Promise.all([worker.close(), api.close()]).catch(() => {})
      redis.disconnect()
    }
  })
})
