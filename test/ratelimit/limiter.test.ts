import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { AppError } from '../../src/errors.ts'
import { freePort } from '../../src/infra/local-servers.ts'
import { createMetrics } from '../../src/infra/metrics.ts'
import { createRedis, type RedisClient } from '../../src/infra/redis.ts'
import { createLimiter, type Limiter, retryAfterSeconds } from '../../src/ratelimit/index.ts'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

describe('sliding-window limiter (real Redis)', () => {
  let redis: RedisClient
  let prefix: string
  let limiter: Limiter
  beforeAll(() => {
    redis = createRedis(inject('redisUrl')) // a Cluster in the cluster profile
    prefix = `t${randomUUID().slice(0, 8)}:rl`
    limiter = createLimiter(redis, prefix)
  })
  afterAll(() => redis.disconnect())

  const subject = () => `test:${randomUUID()}`
  const minute = { limit: 5, windowMs: 60_000 }

  it('admits exactly the limit out of 50 concurrent takes', async () => {
    const s = subject()
    const decisions = await Promise.all(Array.from({ length: 50 }, () => limiter.take(s, minute)))
    expect(decisions.filter((d) => d.allowed)).toHaveLength(5)
    expect(await redis.llen(`${prefix}:{${s}}`)).toBe(5)
  })

  it('holds one limit across separate connections (as separate processes would)', async () => {
    const other = createRedis(inject('redisUrl'))
    try {
      const second = createLimiter(other, prefix)
      const s = subject()
      const decisions = await Promise.all(
        Array.from({ length: 40 }, (_, i) => (i % 2 ? limiter : second).take(s, minute)),
      )
      expect(decisions.filter((d) => d.allowed)).toHaveLength(5)
    } finally {
      other.disconnect()
    }
  })

  it('admits a weighted request whole or not at all', async () => {
    const s = subject()
    for (let i = 0; i < 4; i++) expect((await limiter.take(s, minute)).allowed).toBe(true)
    const two = await limiter.take(s, { ...minute, weight: 2 })
    expect(two.allowed).toBe(false)
    expect(await redis.llen(`${prefix}:{${s}}`)).toBe(4) // the refused request left nothing behind
    expect((await limiter.take(s, { ...minute, weight: 1 })).allowed).toBe(true)
    expect((await limiter.take(s, { ...minute, weight: 1 })).allowed).toBe(false)
  })

  it('says how long until the request fits, within the window', async () => {
    const s = subject()
    await limiter.take(s, { ...minute, weight: 5 })
    const refused = await limiter.take(s, minute)
    expect(refused.allowed).toBe(false)
    if (refused.allowed) return
    expect(refused.retryAfterMs).toBeGreaterThan(50_000)
    expect(refused.retryAfterMs).toBeLessThanOrEqual(60_000)
    expect(retryAfterSeconds(refused.retryAfterMs)).toBeGreaterThanOrEqual(51)
    expect(retryAfterSeconds(refused.retryAfterMs)).toBeLessThanOrEqual(60)
  })

  it('slides: units free up one by one as they leave the window', async () => {
    const s = subject()
    // Wide gaps (1.5 s) so a busy machine cannot blur which units are still in the window.
    const rule = { limit: 5, windowMs: 3_000 }
    expect((await limiter.take(s, { ...rule, weight: 3 })).allowed).toBe(true)
    await sleep(1_500)
    expect((await limiter.take(s, { ...rule, weight: 2 })).allowed).toBe(true)
    const full = await limiter.take(s, rule)
    expect(full.allowed).toBe(false)
    if (full.allowed) return
    // The 3 oldest units leave first: waiting what the limiter said frees them, but not the 2 newer ones.
    expect(full.retryAfterMs).toBeLessThanOrEqual(1_500)
    await sleep(full.retryAfterMs + 20)
    expect((await limiter.take(s, { ...rule, weight: 4 })).allowed).toBe(false)
    expect((await limiter.take(s, { ...rule, weight: 3 })).allowed).toBe(true)
    expect((await limiter.take(s, rule)).allowed).toBe(false)
  })

  it('waits for as many old units as the weight needs', async () => {
    const s = subject()
    const rule = { limit: 3, windowMs: 60_000 }
    expect((await limiter.take(s, rule)).allowed).toBe(true)
    await sleep(50)
    expect((await limiter.take(s, rule)).allowed).toBe(true)
    await sleep(50)
    expect((await limiter.take(s, rule)).allowed).toBe(true)
    // Asked in this order, `one` is answered no earlier than `three`: their difference is at least the gap
    // between the first and the last unit, however slow the machine.
    const three = await limiter.take(s, { ...rule, weight: 3 })
    const one = await limiter.take(s, rule)
    if (one.allowed || three.allowed) throw new Error('should be limited')
    // One unit frees when the first leaves; three need the last one gone, at least 100 ms later.
    expect(three.retryAfterMs - one.retryAfterMs).toBeGreaterThanOrEqual(98)
  })

  it('checks several rules together and reports the one that waits longest', async () => {
    const s = subject()
    const rules = [
      { limit: 1, windowMs: 1_000 },
      { limit: 2, windowMs: 3_600_000 },
    ]
    expect((await limiter.take(s, { rules })).allowed).toBe(true)
    const cooling = await limiter.take(s, { rules })
    expect(cooling).toMatchObject({ allowed: false, rule: 0 })
    await sleep(1_050)
    expect((await limiter.take(s, { rules })).allowed).toBe(true)
    await sleep(1_050)
    const hourly = await limiter.take(s, { rules })
    expect(hourly).toMatchObject({ allowed: false, rule: 1 })
    if (!hourly.allowed) expect(hourly.retryAfterMs).toBeGreaterThan(3_500_000)
    // The log keeps units for the longest window.
    expect(await redis.pttl(`${prefix}:{${s}}`)).toBeGreaterThan(3_500_000)
  })

  it('refuses for ever a weight above the limit', async () => {
    const d = await limiter.take(subject(), { ...minute, weight: 6 })
    expect(d).toEqual({
      allowed: false,
      retryAfterMs: Number.POSITIVE_INFINITY,
      rule: 0,
      limit: 5,
      remaining: 5,
      resetMs: 0,
    })
  })

  it('gives a released reservation back, once', async () => {
    const s = subject()
    const first = await limiter.take(s, { ...minute, weight: 3 })
    const second = await limiter.take(s, { ...minute, weight: 2 })
    if (!first.allowed || !second.allowed) throw new Error('should be admitted')
    expect((await limiter.take(s, minute)).allowed).toBe(false)
    await limiter.release(s, first.id)
    await limiter.release(s, first.id)
    expect(await redis.llen(`${prefix}:{${s}}`)).toBe(2)
    expect((await limiter.take(s, { ...minute, weight: 3 })).allowed).toBe(true)
    expect((await limiter.take(s, minute)).allowed).toBe(false)
  })

  it('keeps no more units than the longest-window rule allows', async () => {
    const s = subject()
    // One take every 350 ms under 3 per 600 ms: always admitted, the key does not idle out, old units expire…
    for (let i = 0; i < 6; i++) {
      if (i > 0) await sleep(350)
      expect((await limiter.take(s, { limit: 3, windowMs: 600 })).allowed).toBe(true)
    }
    // …and are dropped: the log never holds more than 3 (6 without trimming).
    const units = await redis.llen(`${prefix}:{${s}}`)
    expect(units).toBeGreaterThan(0)
    expect(units).toBeLessThanOrEqual(3)
  })

  it('a release after older units were dropped still never lets a window exceed its limit', async () => {
    const s = subject()
    // The 1-hour rule has the smaller limit: the log keeps 2 units, the 1-second rule needs only its newest.
    const rules = [
      { limit: 10, windowMs: 1_000 },
      { limit: 2, windowMs: 3_600_000 },
    ]
    const first = await limiter.take(s, { rules })
    const second = await limiter.take(s, { rules })
    if (!first.allowed || !second.allowed) throw new Error('should be admitted')
    expect((await limiter.take(s, { rules })).allowed).toBe(false)
    await limiter.release(s, second.id)
    expect((await limiter.take(s, { rules })).allowed).toBe(true)
    expect(await limiter.take(s, { rules })).toMatchObject({ allowed: false, rule: 1 })
  })

  it('expires an idle subject after its window', async () => {
    const s = subject()
    await limiter.take(s, { limit: 5, windowMs: 200 })
    expect(await redis.pttl(`${prefix}:{${s}}`)).toBeLessThanOrEqual(200)
    await sleep(300)
    expect(await redis.exists(`${prefix}:{${s}}`)).toBe(0)
  })

  it('rejects nonsense limits as programming errors', async () => {
    await expect(limiter.take(subject(), { limit: 0, windowMs: 1000 })).rejects.toThrow(RangeError)
    await expect(limiter.take(subject(), { limit: 1, windowMs: 1.5 })).rejects.toThrow(RangeError)
    await expect(limiter.take(subject(), { ...minute, weight: 0 })).rejects.toThrow(RangeError)
    await expect(limiter.take(subject(), { rules: [] })).rejects.toThrow(RangeError)
    await expect(limiter.release(subject(), 'nonsense')).rejects.toThrow(RangeError)
  })

  it('counts its decisions in the metrics, one counter for every limiter of an app', async () => {
    const metrics = createMetrics()
    const a = createLimiter(redis, prefix, { name: 'a', metrics })
    const b = createLimiter(redis, prefix, { name: 'b', metrics })
    const s = subject()
    await a.take(s, { limit: 1, windowMs: 60_000 })
    await a.take(s, { limit: 1, windowMs: 60_000 })
    await b.take(subject(), minute)
    const text = await metrics.registry.metrics()
    expect(text).toContain('hotspot_rate_limit_decisions_total{limiter="a",decision="allowed"} 1')
    expect(text).toContain('hotspot_rate_limit_decisions_total{limiter="a",decision="limited"} 1')
    expect(text).toContain('hotspot_rate_limit_decisions_total{limiter="b",decision="allowed"} 1')
  })

  it('fails closed: Redis unreachable → unavailable, never admitted', async () => {
    const dead = createRedis(`redis://127.0.0.1:${await freePort()}`)
    try {
      const l = createLimiter(dead, prefix)
      const error = await l.take(subject(), minute).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(AppError)
      expect(error).toMatchObject({ code: 'unavailable', status: 503 })
    } finally {
      dead.disconnect()
    }
  })
})
