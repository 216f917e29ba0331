import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createFlusher } from '../../src/counters/flush.ts'
import { bucketOf, counterKeys } from '../../src/counters/keys.ts'
import { dayIndex } from '../../src/counters/periods.ts'
import { createLogger } from '../../src/infra/logger.ts'
import type { RedisClient } from '../../src/infra/redis.ts'
import { dbKinds, startTestApp, type TestApp } from '../support/app.ts'

class SimulatedCrash extends Error {}

/**
 * `redis` whose Lua script `script` crashes the process, as seen by the flusher: `after` runs the script, then
 * dies (its effect is in Redis); `before` dies without running it. The flusher gets it as its declared Redis.
 */
function crashingAt(redis: RedisClient, script: string, when: 'before' | 'after'): RedisClient {
  return new Proxy(redis, {
    get(target, name) {
      const value = Reflect.get(target, name, target)
      if (typeof value !== 'function') return value
      if (name !== script) return value.bind(target)
      return async (...args: unknown[]) => {
        if (when === 'after') await value.apply(target, args)
        throw new SimulatedCrash(`died ${when} ${script}`)
      }
    },
  })
}

describe.each(dbKinds)('write-behind flush on %s', (db) => {
  let app: TestApp
  beforeAll(async () => {
    app = await startTestApp({ db })
  })
  /** A flusher of this app whose Redis crashes at one step of the flush. */
  const crashingFlusher = (script: string, when: 'before' | 'after') =>
    createFlusher({
      db: app.db,
      redis: crashingAt(app.redis, script, when),
      prefix: app.prefix,
      log: createLogger('silent'),
    })
  afterAll(() => app.close())

  async function itemWithViews(views: number) {
    const res = await app.http.inject({
      method: 'POST',
      url: '/api/items',
      headers: app.auth,
      payload: { kind: 'article', title: 'flushed' },
    })
    const id = res.json().id as number
    await Promise.all(
      Array.from({ length: views }, () => app.http.inject({ method: 'POST', url: `/api/items/${id}/views` })),
    )
    return id
  }

  const sqlViews = async (id: number) =>
    Number(
      (await app.db.selectFrom('items').select('views').where('id', '=', id).executeTakeFirstOrThrow()).views,
    )
  const sqlDaily = async (id: number) =>
    (
      await app.db.selectFrom('item_views_daily').select(['day', 'views']).where('item_id', '=', id).execute()
    ).map((r) => ({ day: Number(r.day), views: Number(r.views) }))

  it('moves pending views into SQL and leaves nothing pending', async () => {
    const id = await itemWithViews(37)
    expect(await sqlViews(id)).toBe(0)
    await app.flusher.flushAll()
    expect(await sqlViews(id)).toBe(37)
    expect(await sqlDaily(id)).toEqual([{ day: dayIndex(), views: 37 }])
    const keys = counterKeys(app.prefix, bucketOf(id))
    expect(await app.redis.hget(keys.pending, `${id}:${dayIndex()}`)).toBeNull()
    expect(await app.redis.exists(keys.flushing)).toBe(0)
    // A second flush with nothing new changes nothing.
    await app.flusher.flushAll()
    expect(await sqlViews(id)).toBe(37)
    // And the live count is unchanged by flushing.
    expect((await app.http.inject({ method: 'GET', url: `/api/items/${id}` })).json().views).toBe(37)
  })

  it('loses nothing when the process dies after claiming, before SQL', async () => {
    const id = await itemWithViews(11)
    const dying = crashingFlusher('claimFlush', 'after')
    await expect(dying.flushBucket(bucketOf(id))).rejects.toBeInstanceOf(SimulatedCrash)
    expect(await sqlViews(id)).toBe(0)
    // Views keep arriving meanwhile; they wait in `pending` behind the claimed batch.
    await Promise.all(
      Array.from({ length: 4 }, () => app.http.inject({ method: 'POST', url: `/api/items/${id}/views` })),
    )
    await app.flusher.flushBucket(bucketOf(id)) // re-offers the claimed batch
    await app.flusher.flushBucket(bucketOf(id)) // then the new pending ones
    expect(await sqlViews(id)).toBe(15)
  })

  it('never double-counts when the process dies after the SQL commit, before the ack', async () => {
    const id = await itemWithViews(23)
    const dying = crashingFlusher('ackFlush', 'before') // the SQL commit happened, the ack never does
    await expect(dying.flushBucket(bucketOf(id))).rejects.toBeInstanceOf(SimulatedCrash)
    expect(await sqlViews(id)).toBe(23)
    await app.flusher.flushBucket(bucketOf(id)) // same batch again: SQL recognises it
    await app.flusher.flushAll()
    expect(await sqlViews(id)).toBe(23)
    expect(await sqlDaily(id)).toEqual([{ day: dayIndex(), views: 23 }])
  })

  it('stays exact when flushes run concurrently with a stream of views', async () => {
    const id = await itemWithViews(0)
    const viewing = Promise.all(
      Array.from({ length: 400 }, () => app.http.inject({ method: 'POST', url: `/api/items/${id}/views` })),
    )
    const flushing = Promise.all(Array.from({ length: 8 }, () => app.flusher.flushAll().catch(() => 0)))
    await Promise.all([viewing, flushing])
    await app.flusher.flushAll()
    expect(await sqlViews(id)).toBe(400)
  })

  it.runIf(db === 'postgres')(
    'two processes flushing one bucket at once both succeed and count it once',
    async () => {
      const other = await startTestApp({ db, keyPrefix: app.prefix, databaseUrl: app.config.databaseUrl })
      try {
        const id = await itemWithViews(23)
        const bucket = bucketOf(id)
        // A third transaction holds the item's row, so both flushes get under way with the same (re-offered)
        // batch and wait inside their transactions at the same time.
        let release = () => {}
        const released = new Promise<void>((resolve) => {
          release = resolve
        })
        let held = () => {}
        const holding = new Promise<void>((resolve) => {
          held = resolve
        })
        const holder = app.db.transaction().execute(async (trx) => {
          await trx.updateTable('items').set({ title: 'held' }).where('id', '=', id).execute()
          held()
          await released
        })
        await holding
        const flushes = Promise.all([app.flusher.flushBucket(bucket), other.flusher.flushBucket(bucket)])
        const waiting = async () =>
          (
            await sql<{ n: number }>`select count(*)::int as n from pg_stat_activity
            where datname = current_database() and wait_event_type = 'Lock'`.execute(other.db)
          ).rows[0]?.n ?? 0
        const deadline = Date.now() + 10_000
        while ((await waiting()) < 2) {
          if (Date.now() > deadline) throw new Error('the two flushes never waited together')
          await new Promise((r) => setTimeout(r, 20))
        }
        release()
        await holder
        await flushes // neither fails on the other's batch
        expect(await sqlViews(id)).toBe(23)
        expect(await app.redis.exists(counterKeys(app.prefix, bucket).flushing)).toBe(0)
      } finally {
        await other.close()
      }
    },
  )

  it('the flush loop prunes applied batch ids older than a day and keeps newer ones', async () => {
    const old = `old-${Date.now()}`
    const fresh = `fresh-${Date.now()}`
    await app.db
      .insertInto('counter_flushes')
      .values([
        { batch_id: old, applied_at: new Date(Date.now() - 86_400_000 - 60_000).toISOString() },
        { batch_id: fresh, applied_at: new Date(Date.now() - 3_600_000).toISOString() },
      ])
      .execute()
    const flusher = createFlusher({
      db: app.db,
      redis: app.redis,
      prefix: app.prefix,
      log: createLogger('silent'),
    })
    const loop = flusher.start(10)
    const ids = async () =>
      (
        await app.db
          .selectFrom('counter_flushes')
          .select('batch_id')
          .where('batch_id', 'in', [old, fresh])
          .execute()
      )
        .map((r) => r.batch_id)
        .sort()
    try {
      const deadline = Date.now() + 10_000
      while ((await ids()).includes(old)) {
        if (Date.now() > deadline) throw new Error('the old batch id was never pruned')
        await new Promise((r) => setTimeout(r, 20))
      }
      expect(await ids()).toEqual([fresh])
    } finally {
      await loop.stop()
    }
  })
})
