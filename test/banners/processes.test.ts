import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CACHE_NAME, LIST_KEY } from '../../src/banners/keys.ts'
import { cacheKeys } from '../../src/cache/keys.ts'
import { dbKinds, freshDatabaseUrl, startTestApp, type TestApp } from '../support/app.ts'
import { bannerQueries, bannersOf, createBanner, list } from './support.ts'

/** Two API processes of one deployment: same database, same Redis key prefix, each with its own L1. */
describe.each(dbKinds)('banners on two API processes (%s)', (db) => {
  let a: TestApp
  let b: TestApp
  beforeAll(async () => {
    const databaseUrl = await freshDatabaseUrl(db)
    a = await startTestApp({ db, databaseUrl })
    b = await startTestApp({ db, databaseUrl, keyPrefix: a.prefix })
    await Promise.all([a.start(['api']), b.start(['api'])])
  })
  afterAll(async () => {
    await Promise.all([a.close(), b.close()])
  })

  const titles = async (app: TestApp) => (await list(app)).json().map((x: { title: string }) => x.title)

  it("an admin write on one process is in the other's very next GET", async () => {
    await list(b)
    expect((await list(b)).headers['x-cache']).toBe('HIT')

    const created = await createBanner(a, { title: 'Made on A', image: '/a.png', order: 0 })
    const next = await list(b)
    expect(next.headers['x-cache']).toBe('MISS')
    expect(next.json()[0]).toMatchObject({ id: created.id, title: 'Made on A' })
    expect((await list(b)).headers['x-cache']).toBe('HIT')
    expect(await titles(a)).toEqual(await titles(b))

    const renamed = await a.http.inject({
      method: 'PUT',
      url: `/api/banners/${created.id}`,
      headers: a.auth,
      payload: { title: 'Renamed on A' },
    })
    expect(renamed.statusCode).toBe(200)
    expect((await titles(b))[0]).toBe('Renamed on A')

    const removed = await b.http.inject({
      method: 'DELETE',
      url: `/api/banners/${created.id}`,
      headers: b.auth,
    })
    expect(removed.statusCode).toBe(204)
    expect(await titles(a)).not.toContain('Renamed on A')
    expect(await titles(b)).not.toContain('Renamed on A')
  })

  it('answers 500 concurrent cold GETs spread over both processes with one SQL query in all', async () => {
    await a.http.inject({ method: 'GET', url: '/api/banners' })
    await bannersOf(a).cache.invalidate([LIST_KEY])
    a.queries.length = 0
    b.queries.length = 0
    const answers = await Promise.all(Array.from({ length: 500 }, (_, i) => list(i % 2 ? a : b)))
    expect(answers.filter((r) => r.statusCode === 200)).toHaveLength(500)
    expect(new Set(answers.map((r) => r.body)).size).toBe(1)
    expect(bannerQueries(a).length + bannerQueries(b).length).toBe(1)
  })

  it('a slow load that read before a write never leaves the old list cached', async () => {
    const target = (await list(a)).json()[0] as { id: number; title: string }
    await bannersOf(a).cache.invalidate([LIST_KEY])
    let release!: () => void
    let reached!: () => void
    const paused = new Promise<void>((resolve) => {
      reached = resolve
    })
    const gate = new Promise<void>((resolve) => {
      release = resolve
    })
    // A's next load stops after reading SQL and before storing what it read.
    a.sql.after = (sql) => {
      if (!/from "banners"/i.test(sql)) return
      a.sql.after = undefined
      reached()
      return gate
    }
    const slow = list(a)
    await paused
    const put = await b.http.inject({
      method: 'PUT',
      url: `/api/banners/${target.id}`,
      headers: b.auth,
      payload: { title: 'Written during the slow load' },
    })
    expect(put.statusCode).toBe(200)
    // While A's loader still holds its lock: B's next read is fresh (the write removed the lock, no waiting).
    expect((await titles(b))[0]).toBe('Written during the slow load')
    release()
    expect((await slow).statusCode).toBe(200)
    // What the slow loader read was refused: Redis and both processes have the written title.
    const entry = await a.redis.hget(cacheKeys(a.prefix, CACHE_NAME, LIST_KEY).entry, 'v')
    expect(entry).toContain('Written during the slow load')
    expect((await titles(a))[0]).toBe('Written during the slow load')
    expect((await titles(b))[0]).toBe('Written during the slow load')
  })
})
