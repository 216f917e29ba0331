import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type RunningServer, startRabbitMQ, startRedis } from '../../src/infra/local-servers.ts'
import { createLimiter } from '../../src/ratelimit/index.ts'
import { dbKinds, startTestApp, type TestApp } from '../support/app.ts'
import { eventually, limiterUnits, phoneLookup, randomPhone, sendSms, settled } from './support.ts'

/**
 * A RabbitMQ and a Redis of their own, stopped and started again on the same port and data directory. Every
 * SQL engine has its app on them, and goes through the same outages.
 */
describe('SMS when RabbitMQ or Redis is down', () => {
  // The broker test stops RabbitMQ for good, so it runs last.
  let dir: string
  let broker: RunningServer
  let redis: RunningServer
  const apps: TestApp[] = []

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hotspot-sms-faults-'))
    ;[broker, redis] = await Promise.all([
      startRabbitMQ({ dir: path.join(dir, 'rabbitmq') }),
      startRedis({ dir: path.join(dir, 'redis') }),
    ])
    for (const db of dbKinds) apps.push(await startTestApp({ db, amqpUrl: broker.url, redisUrl: redis.url }))
  })
  afterAll(async () => {
    for (const app of apps) await app.close()
    await redis.stop() // the broker test stopped the broker
    fs.rmSync(dir, { recursive: true, force: true })
  })

  it('Redis down: 503 unavailable (fails closed), nothing stored; works again once Redis is back', async () => {
    const port = Number(new URL(redis.url).port)
    await redis.stop()
    for (const app of apps) {
      const phone = randomPhone()
      const answers = await Promise.all(
        Array.from({ length: 10 }, () => sendSms(app, { phone, content: 'hi' })),
      )
      expect(answers.map((r) => r.statusCode)).toEqual(Array(10).fill(503))
      expect(answers[0]?.json().error.code).toBe('unavailable')
      const rows = await app.db
        .selectFrom('sms_messages')
        .select('id')
        .where('phone_hash', '=', phoneLookup(app, `+86${phone}`))
        .execute()
      expect(rows).toEqual([])
    }
    redis = await startRedis({ dir: path.join(dir, 'redis'), port })
    for (const app of apps) {
      await app.start(['worker'])
      const res = await eventually(async () => {
        const r = await sendSms(app, { phone: randomPhone(), content: 'after the outage' })
        return r.statusCode === 503 ? undefined : r
      })
      expect(res.statusCode).toBe(202)
      expect(await settled(app, res.json().id, 30_000)).toMatchObject({ status: 'sent' })
    }
  })
  it('broker down: 503 unavailable, the segments given back, the message not left queued', async () => {
    const phones = apps.map(() => randomPhone())
    for (const [i, app] of apps.entries()) {
      expect((await sendSms(app, { phone: phones[i], content: 'before the outage' })).statusCode).toBe(202)
    }
    await broker.stop() // for good: this is the last test
    await Promise.all(
      apps.map(async (app, i) => {
        const phone = phones[i] as string
        const res = await sendSms(app, { phone, content: 'y'.repeat(300) }) // 2 segments
        expect(res.statusCode).toBe(503)
        expect(res.json().error.code).toBe('unavailable')
        expect(await limiterUnits(app, `+86${phone}`)).toBe(1) // only the message sent before the outage
        const rows = await app.db
          .selectFrom('sms_messages')
          .select(['status', 'error', 'segments'])
          .where('phone_hash', '=', phoneLookup(app, `+86${phone}`))
          .orderBy('created_at')
          .execute()
        expect(rows).toEqual([
          { status: expect.stringMatching(/^(queued|sending|sent)$/), error: null, segments: 1 },
          { status: 'failed', error: expect.stringContaining('could not be queued'), segments: 2 },
        ])
        // The 4 segments left can be taken whole (then the phone's window is full).
        const limiter = createLimiter(app.redis, `${app.prefix}:rl`)
        expect(
          (await limiter.take(`sms:+86${phone}`, { limit: 5, windowMs: 60_000, weight: 4 })).allowed,
        ).toBe(true)
      }),
    )
  })
})
