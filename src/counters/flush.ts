import { randomUUID } from 'node:crypto'
import { sql } from 'kysely'
import { type Db, transact } from '../infra/db/index.ts'
import type { Logger } from '../infra/logger.ts'
import { callScript, type RedisClient } from '../infra/redis.ts'
import { BUCKETS, counterKeys } from './keys.ts'

/**
 * Write-behind: moves view deltas from Redis into SQL in batches. Three steps, each safe to repeat:
 * 1. claim: the bucket's pending deltas are renamed to a "flushing" hash with a batch id (one Lua call);
 * 2. one SQL transaction adds the deltas and records the batch id — a batch id already recorded is skipped;
 * 3. ack: the flushing hash is dropped.
 * A crash after 1 re-offers the same batch next time; after 2, SQL recognises it. Nothing lost, nothing twice.
 */
export function createFlusher(options: { db: Db; redis: RedisClient; prefix: string; log: Logger }) {
  const { db, redis, prefix, log } = options

  async function flushBucket(bucket: number): Promise<number> {
    const keys = counterKeys(prefix, bucket)
    const claimed = await callScript<string[]>(
      redis,
      'claimFlush',
      [keys.pending, keys.flushing, keys.flushingId],
      [randomUUID()],
    )
    if (claimed.length === 0) return 0
    const [batchId = '', ...fields] = claimed

    const perItem = new Map<number, number>()
    const perDay: { itemId: number; day: number; views: number }[] = []
    let total = 0
    for (let i = 0; i < fields.length; i += 2) {
      const [item = '', day = ''] = (fields[i] ?? '').split(':')
      const views = Number(fields[i + 1])
      const itemId = Number(item)
      perItem.set(itemId, (perItem.get(itemId) ?? 0) + views)
      perDay.push({ itemId, day: Number(day), views })
      total += views
    }

    // Retried on a conflict: PostgreSQL run with default_transaction_isolation = serializable may abort it (40001).
    await transact(db, async (trx) => {
      // The batch id is recorded first: another API process flushing the same re-offered batch at this moment
      // waits here on the key, then finds it taken and skips (rather than failing at its end with a duplicate).
      const recorded = await trx
        .insertInto('counter_flushes')
        .values({ batch_id: batchId, applied_at: new Date().toISOString() })
        .onConflict((oc) => oc.column('batch_id').doNothing())
        .returning('batch_id')
        .executeTakeFirst()
      if (!recorded) return
      for (const [itemId, views] of perItem) {
        await trx
          .updateTable('items')
          .set({ views: sql`views + ${views}` })
          .where('id', '=', itemId)
          .execute()
      }
      if (perDay.length > 0) {
        await trx
          .insertInto('item_views_daily')
          .values(perDay.map((d) => ({ item_id: d.itemId, day: d.day, views: d.views })))
          .onConflict((oc) =>
            oc
              .columns(['item_id', 'day'])
              .doUpdateSet({ views: sql`item_views_daily.views + excluded.views` }),
          )
          .execute()
      }
    })
    await callScript(redis, 'ackFlush', [keys.flushing, keys.flushingId], [batchId])
    return total
  }

  /** Flushes every bucket; returns the number of views moved to SQL. */
  async function flushAll(): Promise<number> {
    let moved = 0
    for (let bucket = 0; bucket < BUCKETS; bucket++) moved += await flushBucket(bucket)
    return moved
  }

  /**
   * Runs flushAll every `intervalMs` until stopped; stop() runs one last flush. After a flush, at most once per
   * `pruneEveryMs`, applied batch ids older than a day are deleted (otherwise counter_flushes grows forever).
   */
  function start(intervalMs: number, pruneEveryMs = 3_600_000) {
    let running: Promise<unknown> | undefined
    let prunedAt = 0
    const flushAndPrune = async () => {
      await flushAll()
      if (Date.now() - prunedAt < pruneEveryMs) return
      await pruneAppliedBatches()
      prunedAt = Date.now()
    }
    const tick = () => {
      if (running) return // a slow flush is still going: never overlap two in one process
      running = flushAndPrune()
        .catch((error) => log.warn({ err: error }, 'view flush failed, will retry'))
        .finally(() => {
          running = undefined
        })
    }
    const timer = setInterval(tick, intervalMs)
    timer.unref()
    return {
      async stop() {
        clearInterval(timer)
        await running
        await flushAll().catch((error) =>
          log.warn({ err: error }, 'final view flush failed; counts stay in Redis'),
        )
      },
    }
  }

  /** Keeps the idempotency table small: a batch older than a day can no longer be re-offered. */
  async function pruneAppliedBatches(olderThanMs = 86_400_000): Promise<void> {
    const cutoff = new Date(Date.now() - olderThanMs).toISOString()
    await db.deleteFrom('counter_flushes').where('applied_at', '<', cutoff).execute()
  }

  return { flushBucket, flushAll, start }
}

export type Flusher = ReturnType<typeof createFlusher>
