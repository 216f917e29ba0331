/**
 * A Redis with a small maxmemory and volatile-lfu under cache pressure evicts cache entries only: every view
 * count and the all-time ranking stay exact. The doctor names the policy and the memory use, /metrics the
 * evictions; CACHE_REDIS_URL moves the cache's entries to a Redis of their own.
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { createCache } from '../../src/cache/cache.ts'
import { checkMemory } from '../../src/doctor/memory.ts'
import { type RunningServer, startRedis } from '../../src/infra/local-servers.ts'
import { createLogger } from '../../src/infra/logger.ts'
import { judgePolicy } from '../../src/infra/redis-memory.ts'
import { startTestApp, type TestApp } from '../support/app.ts'

const ITEMS = 20
const CLIENTS = 20
const VIEWS_PER_CLIENT = 50
const VALUE = 'x'.repeat(50_000)

describe('eviction never eats state', () => {
  let dir: string
  let small: RunningServer | undefined
  let admin: Redis
  let app: TestApp

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hotspot-eviction-'))
    small = await startRedis({
      dir: path.join(dir, 'redis'),
      extraArgs: ['--maxmemory', '16mb', '--maxmemory-policy', 'volatile-lfu'],
    })
    admin = new Redis(small.url)
    app = await startTestApp({ redisUrl: small.url })
  })
  afterAll(async () => {
    await app?.close()
    admin?.disconnect()
    await small?.stop()
    fs.rmSync(dir, { recursive: true, force: true })
  })

  it('under cache pressure with volatile-lfu only cache entries go, never a count; doctor and /metrics say so', async () => {
    const ids: number[] = []
    for (let i = 0; i < ITEMS; i++) {
      const res = await app.http.inject({
        method: 'POST',
        url: '/api/items',
        headers: app.auth,
        payload: { kind: 'article', title: `evict ${i}` },
      })
      ids.push(res.json().id)
    }
    const cache = createCache<string>(
      {
        redis: app.redis,
        events: app.tasks.events,
        prefix: app.prefix,
        log: createLogger('silent'),
        metrics: app.metrics,
      },
      { name: 'pressure', ttlMs: 600_000, l1: { maxEntries: 1 } },
    )
    // Views and cache fills at once: 20 clients viewing while 1000 × 50 kB entries (3× maxmemory) are stored.
    const viewer = async (c: number) => {
      for (let v = 0; v < VIEWS_PER_CLIENT; v++) {
        const id = ids[(c + v) % ITEMS] as number
        const res = await app.http.inject({ method: 'POST', url: `/api/items/${id}/views`, payload: {} })
        expect(res.statusCode).toBe(200)
      }
    }
    const filler = async (f: number) => {
      for (let k = f; k < 1000; k += 4) await cache.get(`k${k}`, async () => VALUE)
    }
    await Promise.all([
      ...Array.from({ length: CLIENTS }, (_, c) => viewer(c)),
      ...Array.from({ length: 4 }, (_, f) => filler(f)),
    ])
    await cache.stop()

    const stats = await admin.info('stats')
    const evicted = Number(/evicted_keys:(\d+)/.exec(stats)?.[1])
    expect(evicted).toBeGreaterThan(0)
    const cacheKeys = (await admin.keys(`${app.prefix}:{cache:pressure:*:entry`)).length
    expect(cacheKeys).toBeLessThan(1000) // the pressure was real: entries went

    const perItem = (CLIENTS * VIEWS_PER_CLIENT) / ITEMS
    for (const id of ids) {
      const item = (await app.http.inject({ method: 'GET', url: `/api/items/${id}` })).json()
      expect({ id, views: item.views }).toEqual({ id, views: perItem })
    }
    const ranking = (
      await app.http.inject({ method: 'GET', url: `/api/rankings/views?period=all&limit=${ITEMS}` })
    ).json()
    const rows = (ranking.items ?? ranking) as { id: number; views: number }[]
    expect(rows.length).toBe(ITEMS)
    expect(rows.every((r) => r.views === perItem)).toBe(true)

    const metrics = (await app.http.inject({ method: 'GET', url: '/metrics' })).body
    const exported = Number(/^hotspot_redis_evicted_keys\{redis="main"\} (\d+)/m.exec(metrics)?.[1])
    expect(exported).toBeGreaterThanOrEqual(evicted)
    expect(metrics).toMatch(/^hotspot_redis_maxmemory_bytes\{redis="main"\} 16777216$/m)

    const checks = await checkMemory(app.redis, 'state')
    expect(checks.find((c) => c.name === 'redis eviction')).toMatchObject({ ok: true })
    expect(checks.find((c) => c.name === 'redis memory')).toMatchObject({ ok: false })
    await admin.config('SET', 'maxmemory-policy', 'allkeys-lru')
    try {
      const allkeys = await checkMemory(app.redis, 'state')
      expect(allkeys.find((c) => c.name === 'redis eviction')?.ok).toBe(false)
      expect(allkeys.find((c) => c.name === 'redis eviction')?.detail).toMatch(
        /allkeys-lru can evict any key/,
      )
    } finally {
      await admin.config('SET', 'maxmemory-policy', 'volatile-lfu')
    }
  }, 60_000)

  it('on a cache Redis allkeys-lfu is fine, on the state Redis it is a problem', () => {
    const m = { usedBytes: 1, maxBytes: 100, policy: 'allkeys-lfu', evictedKeys: 0 }
    expect(judgePolicy('cache', m).ok).toBe(true)
    expect(judgePolicy('state', m).ok).toBe(false)
    expect(judgePolicy('state', { ...m, policy: 'noeviction' }).ok).toBe(true)
  })

  it('CACHE_REDIS_URL puts the cache entries on their own Redis and none on the main one', async () => {
    const withCache = await startTestApp({ env: { CACHE_REDIS_URL: small?.url as string } })
    const main = new Redis(inject('redisUrl'))
    try {
      const res = await withCache.http.inject({ method: 'GET', url: '/api/banners' })
      expect(res.statusCode).toBe(200)
      expect((await admin.keys(`${withCache.prefix}:{cache:*`)).length).toBeGreaterThan(0)
      expect(await main.keys(`${withCache.prefix}:{cache:*`)).toEqual([])
    } finally {
      main.disconnect()
      await withCache.close()
    }
  })
})
