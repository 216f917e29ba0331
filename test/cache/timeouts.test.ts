import { describe, expect, it, vi } from 'vitest'
import { cacheKeys } from '../../src/cache/keys.ts'
import { AppError } from '../../src/errors.ts'
import { gate, sleep, source, twoProcesses } from './support.ts'

/** Loader timeouts and adaptive TTL (issue #17 item 7) against real Redis, over two processes. */
describe('cache loader timeouts', () => {
  const { apps, pair } = twoProcesses()

  it('past the soft timeout readers get the stale value, one load runs, and its value lands for the next', async () => {
    const { ca, cb } = pair<number>({ ttlMs: 200, graceMs: 60_000, jitter: 0, softTimeoutMs: 100 })
    const src = source(1)
    await ca.get('k', src.load)
    await sleep(250) // past the TTL, within grace
    src.value = 2
    const slow = gate()
    let loads = 0
    const slowLoad = async () => {
      loads++
      await slow.wait()
      return src.value
    }
    const readers = await Promise.all(
      Array.from({ length: 100 }, (_, i) => (i % 2 ? ca : cb).get('k', slowLoad)),
    )
    expect(readers.every((r) => r.status === 'STALE' && r.value === 1)).toBe(true)
    expect(loads).toBe(1) // one refresh for both processes; it is still running
    slow.open()
    await vi.waitFor(async () =>
      expect(await cb.get('k', slowLoad)).toMatchObject({ value: 2, status: 'HIT' }),
    )
    expect(await ca.get('k', slowLoad)).toMatchObject({ value: 2, status: 'HIT' })
    expect(loads).toBe(1)
  })

  it('a refresh that ends within the soft timeout is what the reader gets', async () => {
    const { ca } = pair<number>({ ttlMs: 200, graceMs: 60_000, jitter: 0, softTimeoutMs: 2000 })
    const src = source(1)
    await ca.get('k', src.load)
    await sleep(250)
    src.value = 2
    expect(await ca.get('k', src.load)).toMatchObject({ value: 2, status: 'MISS' })
    expect(src.loads).toBe(2)
  })

  it('soft timeout 0 serves the stale value at once (stale-while-revalidate)', async () => {
    const { ca } = pair<number>({ ttlMs: 200, graceMs: 60_000, jitter: 0 })
    const src = source(1)
    await ca.get('k', src.load)
    await sleep(250)
    const slow = gate()
    expect(
      await ca.get('k', async () => {
        await slow.wait()
        return 2
      }),
    ).toMatchObject({ value: 1, status: 'STALE' })
    slow.open()
  })

  it('past the hard timeout with nothing stale every reader gets 503, one load runs, and its value lands', async () => {
    const { name, ca, cb } = pair<number>({ hardTimeoutMs: 200 })
    const slow = gate()
    let loads = 0
    const slowLoad = async () => {
      loads++
      await slow.wait()
      return 7
    }
    const answers = await Promise.allSettled(
      Array.from({ length: 100 }, (_, i) => (i % 2 ? ca : cb).get('k', slowLoad)),
    )
    expect(answers.every((a) => a.status === 'rejected')).toBe(true)
    for (const a of answers) {
      const error = (a as PromiseRejectedResult).reason
      expect(error).toBeInstanceOf(AppError)
      expect(error).toMatchObject({ code: 'unavailable', status: 503 })
    }
    expect(loads).toBe(1)
    slow.open()
    const entry = cacheKeys(apps.a.prefix, name, 'k').entry
    await vi.waitFor(async () => expect(await apps.a.redis.hget(entry, 'v')).toBe('7'))
    expect(await cb.get('k', slowLoad)).toMatchObject({ value: 7, status: 'HIT' })
    expect(await ca.get('k', slowLoad)).toMatchObject({ value: 7, status: 'HIT' })
    expect(loads).toBe(1)
  })

  it('a loader sets its entry’s TTL from what it loaded', async () => {
    const { name, ca } = pair<string>({ ttlMs: 60_000, graceMs: 1000, jitter: 0 })
    const token = async (entry: { setTtl(ms: number): void }) => {
      entry.setTtl(300) // e.g. the loaded token expires in 300 ms
      return 'short'
    }
    await ca.get('short', token)
    await ca.get('long', async () => 'long')
    const pttl = (key: string) => apps.a.redis.pttl(cacheKeys(apps.a.prefix, name, key).entry)
    expect(await pttl('short')).toBeLessThanOrEqual(1300)
    expect(await pttl('short')).toBeGreaterThan(1000)
    expect(await pttl('long')).toBeGreaterThan(60_000)
    await sleep(350)
    expect((await ca.get('short', token)).status).toBe('STALE') // past its own TTL, within grace
    expect((await ca.get('long', token)).status).toBe('HIT')
    const badTtl = async (entry: { setTtl(ms: number): void }) => {
      entry.setTtl(0)
      return 'x'
    }
    await expect(ca.get('bad', badTtl)).rejects.toThrow(/TTL/)
  })
})
