import { describe, expect, it, vi } from 'vitest'
import { cacheKeys } from '../../src/cache/keys.ts'
import { gate, sleep, source, twoProcesses } from './support.ts'

/**
 * The cache mechanism against real Redis and RabbitMQ, in two "processes": two apps of one deployment (same key
 * prefix), each with its own Redis connection, event-bus queue and L1. The loaders here stand for SQL reads and
 * count their runs; the banners tests do the same through real SQL.
 */
describe('cache', () => {
  const { apps, pair } = twoProcesses()

  it('goes MISS, HIT, STALE past the TTL with one refresh for many readers, HIT, and MISS past the grace', async () => {
    const { ca } = pair<number>({ ttlMs: 500, graceMs: 1000, jitter: 0 })
    const src = source(1)
    expect(await ca.get('k', src.load)).toEqual({ value: 1, serialized: '1', status: 'MISS' })
    expect(await ca.get('k', src.load)).toEqual({ value: 1, serialized: '1', status: 'HIT' })
    src.value = 2
    await sleep(600)
    const stale = await Promise.all(Array.from({ length: 50 }, () => ca.get('k', src.load)))
    expect(stale.every((r) => r.status === 'STALE' && r.value === 1)).toBe(true)
    await vi.waitFor(async () =>
      expect(await ca.get('k', src.load)).toMatchObject({ value: 2, status: 'HIT' }),
    )
    expect(src.loads).toBe(2) // 50 stale readers, one refresh
    src.value = 3
    await sleep(1600)
    expect(await ca.get('k', src.load)).toMatchObject({ value: 3, status: 'MISS' })
    expect(src.loads).toBe(3)
  })

  it('runs one load for 1000 concurrent cold reads split over two processes', async () => {
    const { ca, cb } = pair<string>()
    let loads = 0
    const load = async () => {
      loads++
      await sleep(50) // long enough for every reader to arrive while it runs
      return 'v'
    }
    const results = await Promise.all(
      Array.from({ length: 1000 }, (_, i) => (i % 2 ? ca : cb).get('k', load)),
    )
    expect(loads).toBe(1)
    expect(results).toHaveLength(1000)
    expect(results.every((r) => r.value === 'v')).toBe(true)
    expect(results.filter((r) => r.status === 'MISS').length).toBeGreaterThan(0)
  })

  it('a reader whose loader is stuck in another process loads itself after lock.waitMs', async () => {
    const stuck = gate()
    const { ca, cb } = pair<string>({}, { lock: { waitMs: 200 } })
    const first = ca.get('k', async () => {
      await stuck.wait() // loaded, then stuck before storing
      return 'from a'
    })
    await stuck.reached
    expect(await cb.get('k', async () => 'from b')).toMatchObject({ value: 'from b', status: 'MISS' })
    stuck.open()
    expect((await first).value).toBe('from a')
  })

  it('a slow loader that read before an invalidation never stores what it read', async () => {
    const slow = gate()
    const { name, ca, cb } = pair<number>()
    const src = source(1)
    const first = ca.get('k', async () => {
      const read = await src.load()
      await slow.wait()
      return read
    }) // reads 1, then waits before storing
    await slow.reached
    await ca.mutate(['k'], async () => {
      src.value = 2
    })
    slow.open()
    expect(await first).toMatchObject({ value: 1, status: 'MISS' }) // it overlapped the write: either answer is right
    // ...but what it read was not stored: nothing is cached, and the next reads load 2.
    expect(await apps.a.redis.hget(cacheKeys(apps.a.prefix, name, 'k').entry, 'v')).toBeNull()
    expect(await cb.get('k', src.load)).toMatchObject({ value: 2, status: 'MISS' })
    expect(await ca.get('k', src.load)).toMatchObject({ value: 2, status: 'HIT' })
    expect(await apps.a.redis.hget(cacheKeys(apps.a.prefix, name, 'k').entry, 'v')).toBe('2')
  })

  it('an invalidation does not wait for a slow loader: a read during it loads the new value at once', async () => {
    const slow = gate()
    const { ca, cb } = pair<number>()
    const src = source(1)
    const first = ca.get('k', async () => {
      const read = await src.load()
      await slow.wait()
      return read
    })
    await slow.reached
    await cb.mutate(['k'], async () => {
      src.value = 2
    })
    // The slow loader still holds its lock; the invalidation removed it, so nobody waits on it.
    expect(await ca.get('k', src.load)).toMatchObject({ value: 2, status: 'MISS' })
    expect(await cb.get('k', src.load)).toMatchObject({ value: 2, status: 'HIT' })
    slow.open()
    await first
    expect(await cb.get('k', src.load)).toMatchObject({ value: 2, status: 'HIT' })
    expect(await ca.get('k', src.load)).toMatchObject({ value: 2, status: 'HIT' })
  })

  it('a write in one process is seen by the next read in the other, and the broadcast drops its L1 copy', async () => {
    const { ca, cb } = pair<number>()
    const src = source(1)
    await cb.get('k', src.load)
    expect(await cb.get('k', src.load)).toMatchObject({ value: 1, status: 'HIT' })
    expect(cb.l1.has('k')).toBe(true)
    await ca.mutate(['k'], async () => {
      src.value = 2
    })
    // No waiting for the broadcast: the generation check alone makes the very next read fresh.
    expect(await cb.get('k', src.load)).toMatchObject({ value: 2, status: 'MISS' })
    // The broadcast, on a key of its own (the one above may still be on its way).
    await cb.get('k2', src.load)
    expect(cb.l1.has('k2')).toBe(true)
    await ca.invalidate(['k2'])
    await vi.waitFor(() => expect(cb.l1.has('k2')).toBe(false))
  })

  it('refresh reloads now and every process serves the new value on its next read', async () => {
    const { ca, cb } = pair<number>()
    const src = source(1)
    await cb.get('k', src.load)
    src.value = 2 // changed behind the cache's back (no invalidation)
    expect(await cb.get('k', src.load)).toMatchObject({ value: 1, status: 'HIT' })
    expect(await ca.refresh('k', src.load)).toBe(true)
    expect(await cb.get('k', src.load)).toMatchObject({ value: 2, status: 'HIT' })
    expect(src.loads).toBe(2)
  })

  it('a failed load reaches the caller, caches nothing and frees the lock at once', async () => {
    const { name, ca } = pair<number>()
    let fail = true
    const load = async () => {
      if (fail) throw new Error('SQL said no')
      return 7
    }
    await expect(ca.get('k', load)).rejects.toThrow('SQL said no')
    const keys = cacheKeys(apps.a.prefix, name, 'k')
    expect(await apps.a.redis.exists(keys.entry, keys.lock)).toBe(0)
    fail = false
    expect(await ca.get('k', load)).toMatchObject({ value: 7, status: 'MISS' })
  })

  it('spreads TTLs with jitter so values filled together expire apart', async () => {
    const { name, ca } = pair<number>({ ttlMs: 100_000, graceMs: 0, jitter: 0.5 })
    await Promise.all(Array.from({ length: 20 }, (_, i) => ca.get(`k${i}`, async () => i)))
    const ttls = await Promise.all(
      Array.from({ length: 20 }, (_, i) => apps.a.redis.pttl(cacheKeys(apps.a.prefix, name, `k${i}`).entry)),
    )
    expect(Math.min(...ttls)).toBeGreaterThanOrEqual(49_000)
    expect(Math.max(...ttls)).toBeLessThanOrEqual(100_000)
    expect(new Set(ttls.map((t) => Math.round(t / 1000))).size).toBeGreaterThan(3)
  })

  it('counts hits by layer, misses, stale serves, loads and invalidations in /metrics', async () => {
    const { name, ca } = pair<number>({ ttlMs: 300, graceMs: 5000, jitter: 0 })
    const load = async () => 1
    await ca.get('k', load) // miss + load
    await ca.get('k', load) // l1 hit
    ca.l1.clear()
    await ca.get('k', load) // redis hit
    await sleep(400)
    await ca.get('k', load) // stale (+ refresh load)
    const entry = cacheKeys(apps.a.prefix, name, 'k').entry
    await vi.waitFor(async () => expect(await apps.a.redis.pttl(entry)).toBeGreaterThan(5000)) // refreshed
    await ca.get('k', load) // l1 hit
    await ca.invalidate(['k'])
    const text = (await apps.a.http.inject({ method: 'GET', url: '/metrics' })).body
    const value = (metric: string) =>
      Number(
        text
          .split('\n')
          .find((line) => line.startsWith(`${metric} `))
          ?.split(' ')[1] ?? 'NaN',
      )
    expect(value(`hotspot_cache_hits_total{cache="${name}",layer="redis"}`)).toBe(1)
    expect(value(`hotspot_cache_misses_total{cache="${name}"}`)).toBe(1)
    expect(value(`hotspot_cache_stale_total{cache="${name}"}`)).toBe(1)
    expect(value(`hotspot_cache_loads_total{cache="${name}",outcome="ok"}`)).toBe(2)
    expect(value(`hotspot_cache_load_duration_seconds_count{cache="${name}"}`)).toBe(2)
    expect(value(`hotspot_cache_invalidations_total{cache="${name}",source="local"}`)).toBe(1)
    expect(value(`hotspot_cache_hits_total{cache="${name}",layer="l1"}`)).toBe(2)
    expect(value(`hotspot_cache_invalidations_total{cache="${name}",source="remote"}`)).toBeNaN() // own broadcast
  })
})
