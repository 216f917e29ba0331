import type { DomainEventSink } from '../domain-events/types.ts'
import { type Db, transact } from '../infra/db/index.ts'
import type { Logger } from '../infra/logger.ts'
import type { RedisClient } from '../infra/redis.ts'
import { counterErrors } from './errors.ts'
import { createItemStore, type ItemKind, type ItemRow } from './items.ts'
import { bucketOf, counterKeys, readyKey } from './keys.ts'
import { dayIndex, monthIndex, type Period, weekIndex } from './periods.ts'
import { createRankings, type RankingQuery } from './rankings.ts'
import { rebuildCounters } from './rebuild.ts'
import { createTrending } from './trending.ts'
import { ViewRecorder, type ViewResult } from './views.ts'

export interface Item extends Omit<ItemRow, 'views'> {
  views: number
  uniqueVisitors: number
}

export type { ItemRank, RankedItem, RankingQuery } from './rankings.ts'

/** Items, view counting and rankings. Knows nothing of HTTP: gRPC and the routes both call this. */
export function createCountersService(options: {
  db: Db
  redis: RedisClient
  prefix: string
  log: Logger
  /** COUNTERS_DEDUPE_SECONDS */
  dedupeSeconds?: number
  /** COUNTERS_TRENDING_HALF_LIFE_HOURS */
  trendingHalfLifeHours?: number
  /** Hears every counted view (live counts for the web UI); must be cheap, it runs on the hot path. */
  onViewed?: (id: number, result: ViewResult) => void
  /** item.created goes out with the item's INSERT. */
  domainEvents?: DomainEventSink
}) {
  const { redis, prefix, log } = options
  const items = createItemStore(options.db)
  const trending = createTrending(options.trendingHalfLifeHours ?? 6)
  const recorder = new ViewRecorder(redis, prefix, options.dedupeSeconds ?? 0, trending)
  const rankings = createRankings({ redis, prefix, items, trending })

  const rebuild = () => rebuildCounters({ redis, prefix, items, log, trending })

  async function liveCounts(id: number): Promise<{ views: number | null; uniqueVisitors: number }> {
    const keys = counterKeys(prefix, bucketOf(id))
    const [views, unique] = await Promise.all([
      redis.hget(keys.counts, String(id)),
      redis.pfcount(keys.visitors(id)),
    ])
    return { views: views === null ? null : Number(views), uniqueVisitors: unique }
  }

  return {
    rebuild,

    async createItem(input: { kind: ItemKind; title: string; body?: string }): Promise<Item> {
      // The item and its item.created event commit together (or neither does).
      const row = await transact(options.db, async (trx) => {
        const inserted = await createItemStore(trx).insert(input)
        await options.domainEvents?.publish(trx, {
          type: 'item.created',
          data: { itemId: inserted.id, kind: inserted.kind, title: inserted.title },
        })
        return inserted
      })
      const keys = counterKeys(prefix, bucketOf(row.id))
      // SQL first (the record), then make the id known to Redis so its views are accepted.
      await redis
        .multi()
        .hsetnx(keys.counts, String(row.id), 0)
        .sadd(keys.items, row.id)
        .sadd(keys.kindItems(row.kind), row.id)
        .exec()
      return { ...row, uniqueVisitors: 0 }
    },

    async deleteItem(id: number): Promise<void> {
      if (!(await items.remove(id))) throw counterErrors.error('item_not_found', `item ${id} does not exist`)
      const keys = counterKeys(prefix, bucketOf(id))
      const today = dayIndex()
      await redis
        .multi()
        .srem(keys.items, id)
        .srem(keys.kindItems('article'), id)
        .srem(keys.kindItems('video'), id)
        .hdel(keys.counts, String(id))
        .zrem(keys.rankAll, id)
        .zrem(keys.rankDay(today), id)
        .zrem(keys.rankWeek(weekIndex(today)), id)
        .zrem(keys.rankMonth(monthIndex(today)), id)
        .zrem(keys.rankTrending, id)
        .del(keys.visitors(id))
        .exec()
    },

    async getItem(id: number): Promise<Item> {
      const row = await items.get(id)
      if (!row) throw counterErrors.error('item_not_found', `item ${id} does not exist`)
      const live = await liveCounts(id)
      // Redis holds flushed + not-yet-flushed views; SQL alone only the flushed ones.
      return { ...row, views: live.views ?? row.views, uniqueVisitors: live.uniqueVisitors }
    },

    async listItems(query: { kind?: ItemKind; limit: number; cursor?: number }) {
      const rows = await items.list({ kind: query.kind, limit: query.limit, before: query.cursor })
      const counts = await Promise.all(
        rows.map((r) => redis.hget(counterKeys(prefix, bucketOf(r.id)).counts, String(r.id))),
      )
      const list = rows.map((row, i) => ({
        ...row,
        views: counts[i] == null ? row.views : Number(counts[i]),
      }))
      const last = rows[rows.length - 1]
      return { items: list, nextCursor: rows.length === query.limit && last ? String(last.id) : null }
    },

    /** Counts one view; the answer includes it. Unknown ids are answered from Redis without touching SQL. */
    async recordView(id: number, visitorId: string): Promise<ViewResult> {
      let result = await recorder.record(id, visitorId)
      if (result === null && (await redis.exists(readyKey(prefix))) === 0) {
        // Redis came back empty: rebuild from SQL once, then count this view.
        await rebuild()
        result = await recorder.record(id, visitorId)
      }
      if (result === null) throw counterErrors.error('item_not_found', `item ${id} does not exist`)
      if (result.counted) options.onViewed?.(id, result)
      return result
    },

    /** Top items of a period (optionally one kind, a past period, a later page). */
    rankings: (query: RankingQuery) => rankings.top(query),

    /** An item's place in a period's ranking; 404 for an item that does not exist. */
    async rankOf(id: number, period: Period, day?: number) {
      if (!(await items.get(id))) throw counterErrors.error('item_not_found', `item ${id} does not exist`)
      return rankings.rankOf(id, period, day)
    },
  }
}

export type CountersService = ReturnType<typeof createCountersService>
