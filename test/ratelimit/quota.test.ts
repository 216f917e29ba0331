import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { createRedis, type RedisClient } from '../../src/infra/redis.ts'
import { createLimiter, type Limiter } from '../../src/ratelimit/index.ts'
import { startTestApp, type TestApp } from '../support/app.ts'

describe('limiter decisions carry limit, remaining and reset (real Redis)', () => {
  let redis: RedisClient
  let limiter: Limiter
  beforeAll(() => {
    redis = createRedis(inject('redisUrl'))
    limiter = createLimiter(redis, `t${randomUUID().slice(0, 8)}:rl`)
  })
  afterAll(() => redis.disconnect())
  const subject = () => `test:${randomUUID()}`
  const minute = { limit: 5, windowMs: 60_000 }

  it('counts remaining down to 0 under concurrent takes, each remaining value seen once', async () => {
    const s = subject()
    const decisions = await Promise.all(Array.from({ length: 20 }, () => limiter.take(s, minute)))
    const allowed = decisions.filter((d) => d.allowed)
    expect(allowed.map((d) => d.remaining).sort()).toEqual([0, 1, 2, 3, 4])
    for (const d of decisions) expect(d.limit).toBe(5)
    for (const d of decisions.filter((x) => !x.allowed)) expect(d.remaining).toBe(0)
    // The oldest unit leaves within the minute.
    for (const d of decisions) expect(d.resetMs).toBeGreaterThan(55_000)
    for (const d of decisions) expect(d.resetMs).toBeLessThanOrEqual(60_000)
  })

  it('reports the rule with the fewest units left', async () => {
    const s = subject()
    const rules = [
      { limit: 2, windowMs: 60_000 },
      { limit: 10, windowMs: 3_600_000 },
    ]
    const first = await limiter.take(s, { rules })
    expect(first).toMatchObject({ allowed: true, limit: 2, remaining: 1 })
    const second = await limiter.take(s, { rules })
    expect(second).toMatchObject({ allowed: true, limit: 2, remaining: 0 })
    expect(await limiter.take(s, { rules })).toMatchObject({ allowed: false, limit: 2, remaining: 0 })
  })

  it('peek tells the decision without taking', async () => {
    const s = subject()
    await limiter.take(s, minute)
    const peeks = await Promise.all(
      Array.from({ length: 10 }, () => limiter.peek(s, { ...minute, weight: 2 })),
    )
    for (const p of peeks) expect(p).toMatchObject({ allowed: true, limit: 5, remaining: 2 })
    expect(await limiter.take(s, minute)).toMatchObject({ allowed: true, remaining: 3 })
    await limiter.take(s, { ...minute, weight: 3 })
    expect(await limiter.peek(s, minute)).toMatchObject({ allowed: false, remaining: 0 })
  })

  it('an untouched subject has its whole limit and nothing to reset', async () => {
    expect(await limiter.peek(subject(), minute)).toMatchObject({ allowed: true, remaining: 4, resetMs: 0 })
  })
})

describe('limited routes send RateLimit-* headers', () => {
  let app: TestApp
  beforeAll(async () => {
    app = await startTestApp({ env: { SMS_LIMIT_SEGMENTS: '3', SMS_ADDRESS_LIMIT: '0' } })
  })
  afterAll(() => app.close())

  it('POST /api/sms: limit, remaining counting down, then 429 with Retry-After', async () => {
    const phone = '+8613800000077'
    const send = () =>
      app.http.inject({ method: 'POST', url: '/api/sms', payload: { phone, content: 'hello' } })
    const answers = []
    for (let i = 0; i < 4; i++) answers.push(await send())
    expect(answers.map((a) => a.statusCode)).toEqual([202, 202, 202, 429])
    expect(answers.map((a) => a.headers['ratelimit-remaining'])).toEqual(['2', '1', '0', '0'])
    for (const a of answers) expect(a.headers['ratelimit-limit']).toBe('3')
    expect(Number(answers[3]?.headers['ratelimit-reset'])).toBeGreaterThan(0)
    expect(Number(answers[3]?.headers['retry-after'])).toBeGreaterThan(0)
  })
})
