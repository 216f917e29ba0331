import { createLock } from '../infra/lock/index.ts'
import type { Logger } from '../infra/logger.ts'
import type { RedisClient } from '../infra/redis.ts'
import type { ItemStore } from './items.ts'
import { BUCKETS, bucketOf, counterKeys, readyKey, rebuildLockKey } from './keys.ts'
import {
  DAY_RANKING_TTL_S,
  dayIndex,
  daysOfMonth,
  daysOfWeek,
  MONTH_RANKING_TTL_S,
  monthIndex,
  WEEK_RANKING_TTL_S,
  weekIndex,
} from './periods.ts'
import type { Trending } from './trending.ts'

const DAY_MS = 86_400_000

/**
 * Rebuilds the Redis side of the counters from SQL (the record) when Redis has lost it: first start, or a
 * Redis that came back empty. Counts are SQL's flushed views plus any deltas still waiting in Redis; every
 * write is "only if absent", so running it on a Redis that still has live data changes nothing.
 */
export async function rebuildCounters(options: {
  redis: RedisClient
  prefix: string
  items: ItemStore
  log: Logger
  trending: Trending
}): Promise<boolean> {
  const { redis, prefix, items, log, trending } = options
  if ((await redis.exists(readyKey(prefix))) === 1) return false
  const lock = createLock(redis, rebuildLockKey(prefix), { ttlMs: 60_000 })
  if (!(await lock.tryAcquire())) {
    // Another process is rebuilding: wait for it rather than doing the same work twice.
    const deadline = Date.now() + 60_000
    while (Date.now() < deadline && (await redis.exists(readyKey(prefix))) === 0) {
      await new Promise((r) => setTimeout(r, 100))
    }
    return false
  }
  try {
    const started = Date.now()
    const waiting = await waitingDeltas(redis, prefix)
    const today = dayIndex()
    const week = weekIndex(today)
    const month = monthIndex(today)
    // Trending from the per-day totals (each day's views as seen at its noon): older days weigh next to nothing.
    const trendingDays = Array.from({ length: 30 }, (_, i) => today - i)
    const days = new Set([...daysOfWeek(week), ...daysOfMonth(month), ...trendingDays])
    let count = 0
    // Plain commands under Promise.all, not one pipeline: on Redis Cluster the 16 buckets live on different
    // nodes and a pipeline must stay on one; auto-pipelining still batches them per node.
    for await (const page of items.all()) {
      await Promise.all(
        page.flatMap((item) => {
          const keys = counterKeys(prefix, bucketOf(item.id))
          const live = item.views + (waiting.total.get(item.id) ?? 0)
          return [
            redis.sadd(keys.items, item.id),
            redis.sadd(keys.kindItems(item.kind), item.id),
            redis.hsetnx(keys.counts, String(item.id), live),
            redis.zadd(keys.rankAll, 'NX', live, item.id),
          ]
        }),
      )
      count += page.length
    }
    // Day, week, month and trending rankings: SQL's per-day totals plus what is still waiting in Redis for them.
    const perDay = await items.dailyViews([...days])
    for (const [key, views] of waiting.perDay) {
      const [id, day] = key.split(':').map(Number)
      if (id !== undefined && day !== undefined && days.has(day)) perDay.push({ itemId: id, day, views })
    }
    const dayScores = new Map<number, number>()
    const weekScores = new Map<number, number>()
    const monthScores = new Map<number, number>()
    const trendingWeights = new Map<number, number>()
    const add = (scores: Map<number, number>, id: number, views: number) =>
      scores.set(id, (scores.get(id) ?? 0) + views)
    for (const row of perDay) {
      if (row.day === today) add(dayScores, row.itemId, row.views)
      if (weekIndex(row.day) === week) add(weekScores, row.itemId, row.views)
      if (monthIndex(row.day) === month) add(monthScores, row.itemId, row.views)
      // Weights relative to today's noon keep the sum far from overflowing; the score adds today's back.
      const weight = Math.exp(
        trending.scoreOf(1, (row.day + 0.5) * DAY_MS) - trending.scoreOf(1, (today + 0.5) * DAY_MS),
      )
      if (row.views > 0) add(trendingWeights, row.itemId, row.views * weight)
    }
    const writes: Promise<unknown>[] = []
    for (const [id, views] of dayScores) {
      const keys = counterKeys(prefix, bucketOf(id))
      writes.push(redis.zadd(keys.rankDay(today), 'NX', views, id))
      writes.push(redis.expire(keys.rankDay(today), DAY_RANKING_TTL_S, 'NX'))
    }
    for (const [id, views] of weekScores) {
      const keys = counterKeys(prefix, bucketOf(id))
      writes.push(redis.zadd(keys.rankWeek(week), 'NX', views, id))
      writes.push(redis.expire(keys.rankWeek(week), WEEK_RANKING_TTL_S, 'NX'))
    }
    for (const [id, views] of monthScores) {
      const keys = counterKeys(prefix, bucketOf(id))
      writes.push(redis.zadd(keys.rankMonth(month), 'NX', views, id))
      writes.push(redis.expire(keys.rankMonth(month), MONTH_RANKING_TTL_S, 'NX'))
    }
    for (const [id, weight] of trendingWeights) {
      const keys = counterKeys(prefix, bucketOf(id))
      writes.push(redis.zadd(keys.rankTrending, 'NX', trending.scoreOf(weight, (today + 0.5) * DAY_MS), id))
    }
    await Promise.all(writes)
    await redis.set(readyKey(prefix), new Date().toISOString())
    log.info({ items: count, ms: Date.now() - started }, 'view counters rebuilt in Redis from SQL')
    return true
  } finally {
    await lock.release()
  }
}

/** Deltas accepted but not yet in SQL (pending and mid-flush), per item and per "item:day". */
async function waitingDeltas(redis: RedisClient, prefix: string) {
  const total = new Map<number, number>()
  const perDay = new Map<string, number>()
  for (let bucket = 0; bucket < BUCKETS; bucket++) {
    const keys = counterKeys(prefix, bucket)
    for (const hash of [keys.pending, keys.flushing]) {
      const fields = await redis.hgetall(hash)
      for (const [field, value] of Object.entries(fields)) {
        const id = Number(field.split(':')[0])
        total.set(id, (total.get(id) ?? 0) + Number(value))
        perDay.set(field, (perDay.get(field) ?? 0) + Number(value))
      }
    }
  }
  return { total, perDay }
}
