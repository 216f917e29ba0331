import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { createMetrics } from '../../src/infra/metrics.ts'
import { createRedis, type RedisClient } from '../../src/infra/redis.ts'
import { createLimiter } from '../../src/ratelimit/index.ts'
import { createRefusalBlock } from '../../src/ratelimit/refusal-block.ts'

/** The real client, counting the limiter script's calls: what reaches Redis. */
function counted(redis: RedisClient) {
  const calls = { script: 0 }
  const proxy = new Proxy(redis, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver)
      if (property !== 'slidingWindowTake' || typeof value !== 'function') return value
      return (...args: unknown[]) => {
        calls.script++
        return value.apply(target, args)
      }
    },
  })
  return { client: proxy, calls }
}

describe('in-process block of refused subjects (real Redis)', () => {
  let redis: RedisClient
  let prefix: string
  beforeAll(() => {
    redis = createRedis(inject('redisUrl'))
    prefix = `t${randomUUID().slice(0, 8)}:rl`
  })
  afterAll(() => redis.disconnect())
  const subject = () => `test:${randomUUID()}`

  it('refuses a hammering subject from memory: 500 concurrent takes after the refusal cost no Redis call', async () => {
    const { client, calls } = counted(redis)
    const metrics = createMetrics()
    const limiter = createLimiter(client, prefix, { name: 'blocking', metrics, blockRefused: true })
    const s = subject()
    const rule = { limit: 5, windowMs: 60_000 }
    const first = await Promise.all(Array.from({ length: 6 }, () => limiter.take(s, rule)))
    expect(first.filter((d) => d.allowed)).toHaveLength(5)
    expect(calls.script).toBe(6)
    const flood = await Promise.all(Array.from({ length: 500 }, () => limiter.take(s, rule)))
    expect(flood.every((d) => !d.allowed)).toBe(true)
    expect(calls.script).toBe(6)
    const refused = flood[0] as Extract<(typeof flood)[number], { allowed: false }>
    expect(refused.retryAfterMs).toBeGreaterThan(59_000)
    expect(refused).toMatchObject({ limit: 5, remaining: 0 })
    expect(await redis.llen(`${prefix}:{${s}}`)).toBe(5)
    const text = await metrics.registry.metrics()
    expect(text).toContain('hotspot_rate_limit_blocked_total{limiter="blocking"} 500')
    expect(text).toContain('hotspot_rate_limit_decisions_total{limiter="blocking",decision="limited"} 501')
    // Other rules for the same subject are other decisions: Redis decides them.
    expect((await limiter.take(s, { limit: 50, windowMs: 60_000 })).allowed).toBe(true)
    expect(calls.script).toBe(7)
  })

  it('never refuses what Redis would admit: a take after the window frees a unit is admitted', async () => {
    const limiter = createLimiter(redis, prefix, { blockRefused: true })
    const plain = createLimiter(redis, prefix)
    const s = subject()
    const rule = { limit: 3, windowMs: 400 }
    let admittedAfterBlock = 0
    let blockedWhileRedisWouldAdmit = 0
    let refusals = 0
    const until = Date.now() + 1500
    while (Date.now() < until) {
      // Only this loop takes: if Redis would admit now, it still would a moment later (units only expire).
      const redisWould = await plain.peek(s, rule)
      const decision = await limiter.take(s, rule)
      if (redisWould.allowed && !decision.allowed) blockedWhileRedisWouldAdmit++
      if (!decision.allowed) refusals++
      else if (refusals > 0) admittedAfterBlock++
    }
    expect(blockedWhileRedisWouldAdmit).toBe(0)
    expect(refusals).toBeGreaterThan(10)
    expect(admittedAfterBlock).toBeGreaterThanOrEqual(3)
  })

  it('a refusal of weight 3 blocks weights 3 and more, not weight 1 (Redis decides that)', async () => {
    const { client, calls } = counted(redis)
    const limiter = createLimiter(client, prefix, { blockRefused: true })
    const s = subject()
    const rule = { limit: 5, windowMs: 60_000 }
    expect((await limiter.take(s, { ...rule, weight: 3 })).allowed).toBe(true)
    expect((await limiter.take(s, { ...rule, weight: 3 })).allowed).toBe(false)
    expect((await limiter.take(s, { ...rule, weight: 4 })).allowed).toBe(false)
    expect(calls.script).toBe(2)
    expect((await limiter.take(s, { ...rule, weight: 1 })).allowed).toBe(true)
    expect(calls.script).toBe(3)
  })

  it('cannot release units early', async () => {
    const limiter = createLimiter(redis, prefix, { blockRefused: true })
    await expect(limiter.release('x', `${Date.now()}:abc`)).rejects.toThrow(/cannot release/)
    const rule = { limit: 1, windowMs: 60_000, weight: 2 } // never admissible: not held (Redis answers at once)
    expect((await limiter.take(subject(), rule)).allowed).toBe(false)
  })
})

describe('refusal block bookkeeping', () => {
  const refusal = (retryAfterMs: number) =>
    ({ allowed: false, retryAfterMs, rule: 0, limit: 5, remaining: 0, resetMs: retryAfterMs }) as const

  it('ends a block 1 ms before send time + retry-after (Redis truncates its clock to ms), counting down', () => {
    let now = 1000
    const block = createRefusalBlock(() => now)
    block.remember('k', 1, refusal(500), 900) // sent at 900: the block ends at 1399
    now = 1100
    expect(block.check('k', 1)).toMatchObject({ retryAfterMs: 299, resetMs: 300 })
    now = 1399
    expect(block.check('k', 1)).toBeUndefined()
    expect(block.size).toBe(0)
  })

  it('holds at most 10 000 subjects, dropping the oldest block first', () => {
    const block = createRefusalBlock(() => 0)
    for (let i = 0; i < 10_050; i++) block.remember(`k${i}`, 1, refusal(60_000), 0)
    expect(block.size).toBe(10_000)
    expect(block.check('k0', 1)).toBeUndefined()
    expect(block.check('k49', 1)).toBeUndefined()
    expect(block.check('k50', 1)).toBeDefined()
    expect(block.check('k10049', 1)).toBeDefined()
  })
})
