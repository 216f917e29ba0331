/**
 * PostgreSQL settings of issue #11 on a real server: `transact()` runs a transaction again after a deadlock, and
 * only then; DATABASE_STATEMENT_TIMEOUT_MS makes the server cancel a long statement (→ 503, not a hung request).
 */
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createDb, type Db, migrateToLatest, transact } from '../../src/infra/db/index.ts'
import { isUnavailableError } from '../../src/infra/unavailable.ts'
import { dbKinds, freshDatabaseUrl } from '../support/app.ts'

/** Resolves once `count` parties have called wait(): both transactions hold their first lock. */
function barrier(count: number) {
  let arrived = 0
  let release: () => void = () => {}
  const all = new Promise<void>((resolve) => {
    release = resolve
  })
  return async () => {
    arrived++
    if (arrived >= count) release()
    await all
  }
}

describe.runIf(dbKinds.includes('postgres'))('PostgreSQL transactions', () => {
  let url: string
  let db: Db
  let first: number
  let second: number
  beforeAll(async () => {
    url = await freshDatabaseUrl('postgres')
    db = createDb(url)
    await migrateToLatest(db)
    const now = new Date().toISOString()
    const rows = await db
      .insertInto('items')
      .values([
        { kind: 'article', title: 'a', body: '', created_at: now },
        { kind: 'article', title: 'b', body: '', created_at: now },
      ])
      .returning('id')
      .execute()
    ;[first, second] = rows.map((r) => Number(r.id)) as [number, number]
  })
  afterAll(async () => {
    await db?.destroy()
  })

  const addView = (trx: Parameters<Parameters<typeof transact>[1]>[0], id: number) =>
    trx.updateTable('items').set({ views: sql`views + 1` }).where('id', '=', id).execute()
  const views = async (id: number) =>
    Number(
      (await db.selectFrom('items').select('views').where('id', '=', id).executeTakeFirstOrThrow()).views,
    )

  it('runs a transaction again after PostgreSQL aborts it for a deadlock: both commit, each exactly once', async () => {
    const before = [await views(first), await views(second)]
    const bothHoldOneRow = barrier(2)
    const retries: string[] = []
    const runs = { ab: 0, ba: 0 }
    // Opposite lock order, and both wait until the other holds its first row: a certain deadlock on the first run.
    const lockInOrder = (name: 'ab' | 'ba', a: number, b: number) =>
      transact(
        db,
        async (trx) => {
          runs[name]++
          await addView(trx, a)
          if (runs[name] === 1) await bothHoldOneRow()
          await addView(trx, b)
        },
        { onRetry: (error) => retries.push((error as { code?: string }).code ?? '') },
      )
    await Promise.all([lockInOrder('ab', first, second), lockInOrder('ba', second, first)])

    expect(retries).toEqual(['40P01'])
    expect(runs.ab + runs.ba).toBe(3) // the deadlock victim ran twice
    // Each transaction's effect counted once: the aborted run left nothing behind.
    expect([await views(first), await views(second)]).toEqual([(before[0] ?? 0) + 2, (before[1] ?? 0) + 2])
  })

  it('does not retry an error a second run cannot fix', async () => {
    let runs = 0
    const failing = transact(db, async (trx) => {
      runs++
      await addView(trx, first)
      await sql`select * from no_such_table`.execute(trx)
    })
    await expect(failing).rejects.toMatchObject({ code: '42P01' })
    expect(runs).toBe(1)
  })

  it('cancels a statement running past DATABASE_STATEMENT_TIMEOUT_MS, reported as unavailable (503)', async () => {
    const strict = createDb(url, { statementTimeoutMs: 200 })
    try {
      const started = Date.now()
      const error = await sql`select pg_sleep(5)`.execute(strict).catch((e: unknown) => e)
      expect(error).toMatchObject({ code: '57014' })
      expect(isUnavailableError(error)).toBe(true)
      expect(Date.now() - started).toBeLessThan(4_000) // cancelled by the server, not finished
      // The connection is usable again right after.
      const { rows } = await sql<{ one: number }>`select 1 as one`.execute(strict)
      expect(rows).toEqual([{ one: 1 }])
    } finally {
      await strict.destroy()
    }
  })
})
