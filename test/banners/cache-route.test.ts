import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { startTestApp, type TestApp } from '../support/app.ts'
import { bannerQueries, list } from './support.ts'

const invalidate = (app: TestApp, payload: unknown, headers: Record<string, string> = app.auth) =>
  app.http.inject({ method: 'POST', url: '/api/cache/invalidate', headers, payload: payload as object })

/** POST /api/cache/invalidate and CACHE_HARD_TIMEOUT_MS through the banners list, on two API processes. */
describe('cache admin route and hard timeout over HTTP', () => {
  let a: TestApp
  let b: TestApp
  beforeAll(async () => {
    a = await startTestApp({ env: { CACHE_HARD_TIMEOUT_MS: '300' } })
    b = await startTestApp({
      databaseUrl: a.config.databaseUrl,
      keyPrefix: a.prefix,
      env: { CACHE_HARD_TIMEOUT_MS: '300' },
    })
    await Promise.all([a.start(['api']), b.start(['api'])])
  })
  afterAll(async () => {
    await Promise.all([a.close(), b.close()])
  })

  it("invalidating the tag 'banners' on one process makes the other's next GET read SQL again", async () => {
    await list(b)
    expect((await list(b)).headers['x-cache']).toBe('HIT')
    // Changed behind the cache's back (no invalidation by the write).
    await a.db.updateTable('banners').set({ title: 'Changed in SQL' }).execute()
    expect((await list(b)).json()[0].title).not.toBe('Changed in SQL')
    const res = await invalidate(a, { tags: ['banners', 'banners'] })
    expect(res.statusCode).toBe(200)
    expect(res.json()).toEqual({ invalidated: ['banners'] })
    const next = await list(b)
    expect(next.headers['x-cache']).toBe('MISS')
    expect(next.json()[0].title).toBe('Changed in SQL')
    expect((await list(a)).headers['x-cache']).toBe('HIT')
  })

  it('refuses bad input with 400 and no token with 401, changing nothing', async () => {
    await list(b)
    expect((await list(b)).headers['x-cache']).toBe('HIT')
    for (const payload of [
      {},
      { tags: [] },
      { tags: ['has space'] },
      { tags: ['x'.repeat(101)] },
      { tags: 'banners' },
      { tags: ['x'], more: 1 },
    ]) {
      const res = await invalidate(a, payload)
      expect(res.statusCode).toBe(400)
      expect(res.json().error.code).toMatch(/validation_failed|bad_request/)
    }
    expect((await invalidate(a, { tags: ['banners'] }, {})).statusCode).toBe(401)
    expect((await list(b)).headers['x-cache']).toBe('HIT')
  })

  it('a cold list whose SQL read outlasts the hard timeout answers 503 on both processes; the read then lands', async () => {
    await invalidate(a, { tags: ['banners'] })
    let release!: () => void
    const paused = new Promise<void>((resolve) => {
      release = resolve
    })
    const slow = (sql: string) => (/"banners"/.test(sql) ? paused : undefined)
    a.sql.after = slow
    b.sql.after = slow
    a.queries.length = 0
    b.queries.length = 0
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => list(i % 2 ? a : b)))
    for (const res of answers) {
      expect(res.statusCode).toBe(503)
      expect(res.json().error.code).toBe('unavailable')
    }
    expect(bannerQueries(a).length + bannerQueries(b).length).toBe(1) // one load for both processes
    release()
    a.sql.after = undefined
    b.sql.after = undefined
    await vi.waitFor(async () => expect((await list(b)).headers['x-cache']).toBe('HIT'))
    expect((await list(a)).statusCode).toBe(200)
    expect(bannerQueries(a).length + bannerQueries(b).length).toBe(1)
  })
})
