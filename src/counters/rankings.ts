import { callScript, type RedisClient } from '../infra/redis.ts'
import { createTurnBatcher } from '../infra/turn-batcher.ts'
import type { ItemKind, ItemStore } from './items.ts'
import { BUCKETS, bucketOf, counterKeys } from './keys.ts'
import { type CalendarPeriod, dayIndex, daysOf, monthIndex, type Period, weekIndex } from './periods.ts'
import type { Trending } from './trending.ts'

export interface RankedItem {
  id: number
  title: string
  /** Views in the period; for `trending`, views decayed to now. */
  views: number
}

export interface RankingQuery {
  period: Period
  /** A day of the calendar period wanted (default today). */
  day?: number
  kind?: ItemKind
  limit: number
  offset: number
}

export interface ItemRank {
  /** 1 for the most viewed; items with equal views share a rank. Null when the item has no views in the period. */
  rank: number | null
  views: number
  /** How many items have a place in the period's ranking. */
  of: number
}

/**
 * Rankings from Redis while the period is live (all-time, trending, and the current day, week and month) and
 * from SQL's per-day totals for past days, weeks and months.
 */
export function createRankings(options: {
  redis: RedisClient
  prefix: string
  items: ItemStore
  trending: Trending
}) {
  const { redis, prefix, items, trending } = options

  /** The Redis key of a period in one bucket, or null when the period is past (then SQL has it). */
  function liveKey(bucket: number, period: Period, day: number): string | null {
    const keys = counterKeys(prefix, bucket)
    const today = dayIndex()
    if (period === 'all') return keys.rankAll
    if (period === 'trending') return keys.rankTrending
    if (period === 'day') return day === today ? keys.rankDay(day) : null
    if (period === 'week') return weekIndex(day) === weekIndex(today) ? keys.rankWeek(weekIndex(day)) : null
    return monthIndex(day) === monthIndex(today) ? keys.rankMonth(monthIndex(day)) : null
  }

  const views = (period: Period, score: number) =>
    period === 'trending' ? trending.decayedViews(score) : score

  async function topFromRedis(query: RankingQuery, day: number): Promise<{ id: number; views: number }[]> {
    const wanted = query.offset + query.limit
    // 16 single-key reads, not one pipeline: on Redis Cluster the buckets live on different nodes (a pipeline
    // must stay on one); auto-pipelining still sends them in one round trip per node.
    const results = await Promise.all(
      Array.from({ length: BUCKETS }, (_, bucket) => {
        const key = liveKey(bucket, query.period, day) as string
        if (!query.kind) return redis.zrevrange(key, 0, wanted - 1, 'WITHSCORES')
        const keys = counterKeys(prefix, bucket)
        return callScript<string[]>(
          redis,
          'topOfKind',
          [key, keys.kindItems(query.kind), keys.scratch],
          [wanted],
        )
      }),
    )
    const ranked: { id: number; views: number }[] = []
    for (const pairs of results) {
      for (let i = 0; i < pairs.length; i += 2)
        ranked.push({ id: Number(pairs[i]), views: Number(pairs[i + 1]) })
    }
    ranked.sort((a, b) => b.views - a.views || a.id - b.id)
    return ranked.slice(query.offset, wanted).map((r) => ({ id: r.id, views: views(query.period, r.views) }))
  }

  async function liveTop(query: RankingQuery, day: number): Promise<readonly RankedItem[]> {
    const top = await topFromRedis(query, day)
    const titles = await items.titles(top.map((r) => r.id))
    return top
      .filter((r) => titles.has(r.id))
      .map((r) => ({ id: r.id, title: titles.get(r.id) ?? '', views: r.views }))
  }

  // The same live ranking asked for several times in one event-loop turn is read once (16 ZREVRANGEs and the
  // titles: ~600 µs of CPU) and shared. Never stale: a read only serves requests that arrived before it left.
  const sameTurn = createTurnBatcher<string, null, readonly RankedItem[]>({
    async send(key, waiting) {
      const [query, day] = JSON.parse(key) as [RankingQuery, number]
      const top = await liveTop(query, day)
      return waiting.map(() => top)
    },
    maxBatch: 10_000,
    maxPending: 10_000,
  })

  return {
    /** The most viewed items of a period, `offset` places down (read-only: answers may share one array). */
    async top(query: RankingQuery): Promise<readonly RankedItem[]> {
      const day = query.day ?? dayIndex()
      if (liveKey(0, query.period, day) === null) {
        const days = daysOf(query.period as CalendarPeriod, day)
        return items.rankedBetween(days[0] as number, days[days.length - 1] as number, query)
      }
      const { period, kind, limit, offset } = query
      return sameTurn.add(JSON.stringify([{ period, kind, limit, offset }, day]), null)
    },

    /** An item's place in a period's ranking (competition ranking: ties share a place). */
    async rankOf(id: number, period: Period, day = dayIndex()): Promise<ItemRank> {
      if (liveKey(0, period, day) === null) {
        const days = daysOf(period as CalendarPeriod, day)
        return items.rankBetween(id, days[0] as number, days[days.length - 1] as number)
      }
      const own = liveKey(bucketOf(id), period, day) as string
      const score = await redis.zscore(own, String(id))
      const keys = Array.from({ length: BUCKETS }, (_, bucket) => liveKey(bucket, period, day) as string)
      const sizes = await Promise.all(keys.map((key) => redis.zcard(key)))
      const of = sizes.reduce((sum, n) => sum + n, 0)
      if (score === null) return { rank: null, views: 0, of }
      // The exact stored score, exclusive: items strictly ahead of this one.
      const ahead = await Promise.all(keys.map((key) => redis.zcount(key, `(${score}`, '+inf')))
      return { rank: 1 + ahead.reduce((sum, n) => sum + n, 0), views: views(period, Number(score)), of }
    },
  }
}

export type Rankings = ReturnType<typeof createRankings>
