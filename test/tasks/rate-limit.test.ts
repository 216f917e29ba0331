import { describe, expect, it } from 'vitest'
import { createRateLimiter, parseRate } from '../../src/tasks/rate-limit.ts'
import { createRegistry } from '../../src/tasks/registry.ts'

describe("per-task rate limits (Celery's rate_limit)", () => {
  it("reads Celery's rate strings as tasks per second; empty or 0 is no limit", () => {
    expect(parseRate('10/s')).toBe(10)
    expect(parseRate('100/m')).toBeCloseTo(100 / 60)
    expect(parseRate('2/h')).toBeCloseTo(2 / 3600)
    expect(parseRate('0.5')).toBe(0.5)
    expect(parseRate(3)).toBe(3)
    for (const none of [undefined, null, '', 0, '0']) expect(parseRate(none)).toBe(0)
    for (const bad of ['fast', '10/d', '-1/s', '/s', Number.NaN, {}])
      expect(() => parseRate(bad)).toThrow(RangeError)
  })

  it('spaces the starts of one task type 1/rate apart (a bucket of capacity 1); other types are not held', () => {
    const limiter = createRateLimiter()
    const waits = [0, 0, 0, 0].map(() => limiter.reserve('a', '4/s', 1000))
    expect(waits).toEqual([0, 250, 500, 750])
    expect(limiter.reserve('b', undefined, 1000)).toBe(0)
    // A changed rate is a new bucket, as Celery's reset_rate_limits.
    expect(limiter.reserve('a', '1/s', 1000)).toBe(0)
    expect(limiter.reserve('a', '1/s', 1000)).toBe(1000)
  })

  it('refuses a bad rate when the task is registered', () => {
    const registry = createRegistry()
    expect(() => registry.register('t.bad', () => 1, { rateLimit: '10/fortnight' })).toThrow(
      /unknown rate unit/,
    )
    registry.register('t.good', () => 1, { rateLimit: '10/m' })
    expect(registry.get('t.good')?.options.rateLimit).toBe('10/m')
  })
})
