import { randomUUID } from 'node:crypto'
import { describe, expect, inject, it } from 'vitest'
import { loadConfig } from '../src/config.ts'
import { runDoctor } from '../src/doctor/index.ts'
import { createAmqp } from '../src/infra/amqp.ts'
import { createDb, migrateToLatest } from '../src/infra/db/index.ts'
import { createLogger } from '../src/infra/logger.ts'
import { freshDatabaseUrl } from './support/app.ts'

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
    expect(lines.find((l) => l.includes(`queue ${prefix}.hotspot`))).toMatch(/PROBLEM.*x-queue-type/)
  })
})
