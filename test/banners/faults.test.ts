import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { unavailable } from '../../src/errors.ts'
import { type RunningServer, startRedis } from '../../src/infra/local-servers.ts'
import { dbKinds, startTestApp, type TestApp } from '../support/app.ts'
import { startPostgres } from '../support/postgres.ts'
import { bannersOf, list, sleep } from './support.ts'

const newBanner = { title: 'Written during an outage', image: '/outage.png' }
const post = (app: TestApp) =>
  app.http.inject({ method: 'POST', url: '/api/banners', headers: app.auth, payload: newBanner })
const countRows = async (app: TestApp) =>
  Number(
    (
      await app.db
        .selectFrom('banners')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow()
    ).n,
  )

/** These tests stop servers, so they get a Redis / PostgreSQL of their own instead of the shared ones. */
describe('banners when Redis fails', () => {
  let dir: string
  let redis: RunningServer
  let app: TestApp
  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hotspot-banners-redis-'))
    redis = await startRedis({ dir })
    app = await startTestApp({ redisUrl: redis.url })
    await app.start(['api'])
  })
  afterAll(async () => {
    await app.close()
    await redis.stop()
    fs.rmSync(dir, { recursive: true, force: true })
  })

  it('serves from L1, then straight from SQL; refuses writes with 503 and changes nothing; recovers', async () => {
    await list(app)
    const warm = await list(app)
    expect(warm.headers['x-cache']).toBe('HIT')
    const rows = await countRows(app)
    await redis.stop()

    const fromL1 = await list(app)
    expect(fromL1.statusCode).toBe(200)
    expect(fromL1.headers['x-cache']).toBe('HIT')
    expect(fromL1.body).toBe(warm.body)

    const refused = await post(app)
    expect(refused.statusCode).toBe(503)
    expect(refused.json().error.code).toBe('unavailable')
    expect(await countRows(app)).toBe(rows)

    bannersOf(app).cache.l1.clear()
    const answers = await Promise.all(Array.from({ length: 50 }, () => list(app)))
    expect(answers.map((r) => r.statusCode)).toEqual(Array(50).fill(200))
    expect(answers.map((r) => r.headers['x-cache'])).toEqual(Array(50).fill('MISS'))
    expect(new Set(answers.map((r) => r.body))).toEqual(new Set([warm.body]))

    redis = await startRedis({ dir, port: Number(new URL(redis.url).port) })
    // ioredis reconnects by itself; the first writes may still see the reconnect in progress.
    await vi.waitFor(async () => expect((await post(app)).statusCode).toBe(201), {
      timeout: 10_000,
      interval: 100,
    })
    expect(await countRows(app)).toBe(rows + 1)
    const after = await list(app)
    expect(after.statusCode).toBe(200)
    expect(after.json().map((b: { title: string }) => b.title)).toContain(newBanner.title)
  })
})

describe('banners when SQL fails (SQLite: the loader throws as a down database would)', () => {
  let app: TestApp
  beforeAll(async () => {
    app = await startTestApp({ env: { BANNERS_CACHE_TTL_MS: '500', BANNERS_CACHE_GRACE_MS: '1500' } })
  })
  afterAll(() => app.close())

  it('serves the warm cache as HIT, then STALE past the TTL, 503 past the grace, and recovers', async () => {
    await list(app)
    const warm = await list(app)
    const cache = bannersOf(app).cache
    app.sql.before = (sql) => {
      if (/from "banners"/i.test(sql)) throw unavailable('SQL')
    }
    cache.l1.clear() // from Redis, not only from this process's copy
    const hit = await list(app)
    expect([hit.statusCode, hit.headers['x-cache'], hit.body]).toEqual([200, 'HIT', warm.body])

    await sleep(600)
    for (let i = 0; i < 3; i++) {
      const stale = await list(app) // each may start a refresh; they fail, the stale list is still served
      expect([stale.statusCode, stale.headers['x-cache'], stale.body]).toEqual([200, 'STALE', warm.body])
    }

    await sleep(1500)
    const gone = await list(app)
    expect(gone.statusCode).toBe(503)
    expect(gone.json().error.code).toBe('unavailable')

    app.sql.before = undefined
    const back = await list(app)
    expect([back.statusCode, back.headers['x-cache'], back.body]).toEqual([200, 'MISS', warm.body])
  })
})

describe.runIf(dbKinds.includes('postgres'))('banners when PostgreSQL stops', () => {
  let dir: string
  let postgres: RunningServer
  let app: TestApp
  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hotspot-banners-pg-'))
    fs.chmodSync(dir, 0o755) // PostgreSQL runs as `postgres` and must reach its data dir inside
    postgres = await startPostgres({ dir })
    app = await startTestApp({
      databaseUrl: postgres.url,
      env: { BANNERS_CACHE_TTL_MS: '500', BANNERS_CACHE_GRACE_MS: '60000' },
    })
    await app.start(['api'])
  })
  afterAll(async () => {
    await app.close()
    await postgres.stop().catch(() => {})
    fs.rmSync(dir, { recursive: true, force: true })
  })

  it('keeps serving the warm cache (HIT, then STALE), refuses writes with 503 without touching it, recovers', async () => {
    await list(app)
    const warm = await list(app)
    expect(warm.headers['x-cache']).toBe('HIT')
    await postgres.stop()

    const hit = await list(app)
    expect([hit.statusCode, hit.headers['x-cache'], hit.body]).toEqual([200, 'HIT', warm.body])
    await sleep(600)
    bannersOf(app).cache.l1.clear()
    const stale = await list(app)
    expect([stale.statusCode, stale.headers['x-cache'], stale.body]).toEqual([200, 'STALE', warm.body])

    const refused = await post(app)
    expect(refused.statusCode).toBe(503)
    expect(refused.json().error.code).toBe('unavailable')
    const still = await Promise.all(Array.from({ length: 20 }, () => list(app)))
    expect(still.map((r) => [r.statusCode, r.headers['x-cache'], r.body])).toEqual(
      Array(20).fill([200, 'STALE', warm.body]),
    )

    postgres = await startPostgres({ dir, port: Number(new URL(postgres.url).port) })
    // The next refresh attempt (at most lock.retryMs later) reloads from the restarted database.
    await vi.waitFor(async () => expect((await list(app)).headers['x-cache']).toBe('HIT'), {
      timeout: 10_000,
      interval: 100,
    })
    expect((await list(app)).body).toBe(warm.body) // the refused write left nothing behind
  })
})
