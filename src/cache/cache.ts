import { randomUUID } from 'node:crypto'
import { unavailable } from '../errors.ts'
import type { Logger } from '../infra/logger.ts'
import type { Metrics } from '../infra/metrics.ts'
import type { RedisClient } from '../infra/redis.ts'
import { isUnavailableError } from '../infra/unavailable.ts'
import type { EventBus } from '../tasks/types.ts'
import { createEntries } from './entries.ts'
import { createGenerationReader } from './generations.ts'
import { createInvalidation } from './invalidation.ts'
import { createL1, type L1Entry } from './l1.ts'
import { createCacheMetrics } from './metrics.ts'
import { type CacheOptions, resolveOptions } from './options.ts'
import { createLocalFlights, createSingleFlight } from './single-flight.ts'

export type CacheStatus = 'HIT' | 'MISS' | 'STALE'

export interface CacheResult<T> {
  value: T
  status: CacheStatus
  /** The value as stored (JSON unless `serialize` says otherwise): a route can send it as is. */
  serialized: string
}

/** Reads the value from the record (SQL). Runs once per miss across every process. */
export type Loader<T> = () => Promise<T>

/** What a cache needs from the app; a FeatureContext has all of it. */
export interface CacheDeps {
  redis: RedisClient
  cacheRedis?: RedisClient
  events: EventBus
  prefix: string
  log: Logger
  metrics: Metrics
}

/** A value and its stored form, together so neither is computed twice. */
interface Stored<T> {
  value: T
  serialized: string
}

interface Found<T> extends CacheResult<T> {
  layer?: 'l1' | 'redis'
}

/**
 * Cache-aside over Redis with an in-process L1: single flight per key across processes, TTL with jitter,
 * stale-while-revalidate within a grace period (also while SQL is down), and invalidation by generation so a
 * slow loader never stores what it read before a write. Usage:
 *
 *   const cache = createCache<Banner[]>(ctx, { name: 'banners', ttlMs: 60_000, graceMs: 600_000 })
 *   const { value, status } = await cache.get('list', () => store.listShown())
 *   await cache.mutate(['list'], () => store.insert(input)) // SQL write, then invalidation
 */
export function createCache<T>(deps: CacheDeps, options: CacheOptions<T>) {
  const o = resolveOptions(options)
  const { log } = deps
  const redis = deps.cacheRedis ?? deps.redis
  const entries = createEntries(redis, deps.prefix, o.name, o.generationTtlMs)
  const l1 = createL1<T>(o.l1)
  const generationOf = createGenerationReader((key) => entries.generation(key))
  const flights = createLocalFlights()
  const single = createSingleFlight(entries, { lockTtlMs: o.lock.ttlMs, waitMs: o.lock.waitMs })
  const metrics = createCacheMetrics(deps.metrics.registry, o.name)
  const invalidation = createInvalidation({
    entries,
    events: deps.events,
    prefix: deps.prefix,
    cache: o.name,
    log,
    drop(key, source) {
      l1.delete(key)
      ;(source === 'local' ? metrics.invalidatedLocal : metrics.invalidatedRemote).inc()
    },
  })
  /** Background refreshes of stale values: stop() waits for them. */
  const refreshing = new Set<Promise<unknown>>()

  // A client that is reconnecting would hold commands in its offline queue for seconds: go around it at once.
  const redisUp = () => redis.status === 'ready'
  const ttlWithJitter = () => o.ttlMs * (1 - o.jitter * Math.random())
  const fromStore = (serialized: string): Stored<T> => ({ value: o.deserialize(serialized), serialized })

  function remember(key: string, found: Stored<T>, generation: string, freshMs: number, remainingMs: number) {
    const now = Date.now()
    const entry: L1Entry<T> = {
      ...found,
      generation,
      freshUntil: now + freshMs,
      staleUntil: now + remainingMs,
    }
    l1.set(key, entry)
  }

  async function runLoader(loader: Loader<T>): Promise<T> {
    const started = performance.now()
    try {
      const value = await loader()
      metrics.loadOk.inc()
      metrics.loadSeconds.observe((performance.now() - started) / 1000)
      return value
    } catch (error) {
      metrics.loadFailed.inc()
      throw error
    }
  }

  /** Loads and stores the value, unless an invalidation happened since `generation` was read. */
  async function load(key: string, loader: Loader<T>, generation: string, token: string, newGeneration = '') {
    const value = await runLoader(loader)
    const serialized = o.serialize(value)
    const freshMs = ttlWithJitter()
    const stored = await entries
      .fill(key, {
        generation,
        serialized,
        freshMs,
        graceMs: o.graceMs,
        token,
        newGeneration,
      })
      .catch((error) => {
        // Redis went away after the load: the caller still gets the value, it is just not shared.
        if (!isUnavailableError(error)) throw error
        log.warn({ err: error, cache: o.name }, 'cache could not store a loaded value')
        return false
      })
    if (stored)
      remember(key, { value, serialized }, newGeneration || generation, freshMs, freshMs + o.graceMs)
    return { value, serialized, stored }
  }

  function refreshInBackground(key: string, loader: Loader<T>, generation: string, token: string) {
    const run = load(key, loader, generation, token)
      .catch(async (error) => {
        log.warn({ err: error, cache: o.name, key }, 'cache refresh failed, serving stale')
        // Keep the lock a little: while SQL is down, one attempt per pause instead of one per request.
        await single.release(key, token, o.lock.retryMs).catch(() => {})
      })
      .finally(() => refreshing.delete(run))
    refreshing.add(run)
  }

  /** L1 had nothing usable: Redis, then (one caller across processes) SQL. */
  async function fromRedis(key: string, loader: Loader<T>): Promise<Found<T>> {
    const claim = await single.claim(key)
    if (claim.kind === 'fresh') {
      const { generation, remainingMs, graceMs } = claim.entry
      const found = fromStore(claim.entry.serialized as string)
      remember(key, found, generation, remainingMs - graceMs, remainingMs)
      return { ...found, status: 'HIT', layer: 'redis' }
    }
    if (claim.kind === 'stale') {
      const { generation, remainingMs } = claim.entry
      const found = fromStore(claim.entry.serialized as string)
      remember(key, found, generation, 0, remainingMs)
      if (claim.token) refreshInBackground(key, loader, generation, claim.token)
      return { ...found, status: 'STALE' }
    }
    try {
      const { value, serialized } = await load(key, loader, claim.generation, claim.token)
      return { value, serialized, status: 'MISS' }
    } catch (error) {
      // Free the lock at once so a waiting process can try (rather than wait for it to expire).
      if (claim.token) await single.release(key, claim.token).catch(() => {})
      throw error
    }
  }

  /** Redis is unreachable: serve this process's copy, else load from SQL (once per process), else stale. */
  async function withoutRedis(key: string, loader: Loader<T>): Promise<Found<T>> {
    const cached = l1.get(key)
    const now = Date.now()
    if (cached && now < cached.freshUntil) return { ...cached, status: 'HIT', layer: 'l1' }
    try {
      return await flights.run(`${key}\n?`, async () => {
        const value = await runLoader(loader)
        const found = { value, serialized: o.serialize(value) }
        const freshMs = Math.min(ttlWithJitter(), o.l1.ttlMs)
        // Generation '?' never matches Redis: once Redis is back this copy is re-checked before use.
        remember(key, found, '?', freshMs, freshMs + o.graceMs)
        return { ...found, status: 'MISS' as const }
      })
    } catch (error) {
      if (cached && now < cached.staleUntil) return { ...cached, status: 'STALE' }
      throw error
    }
  }

  async function lookup(key: string, loader: Loader<T>): Promise<Found<T>> {
    if (!redisUp()) return withoutRedis(key, loader)
    try {
      // The one round trip of a hit: is the copy in L1 still of the current generation?
      const generation = await generationOf(key)
      const cached = l1.get(key)
      if (cached && cached.generation === generation && Date.now() < cached.freshUntil) {
        return { ...cached, status: 'HIT', layer: 'l1' }
      }
      // Callers that saw the same generation share one flight; one that saw a newer one never joins an older.
      return await flights.run(`${key}\n${generation}`, () => fromRedis(key, loader))
    } catch (error) {
      if (!redisUp() && isUnavailableError(error)) return withoutRedis(key, loader)
      throw error
    }
  }

  return {
    name: o.name,

    async get(key: string, loader: Loader<T>): Promise<CacheResult<T>> {
      const found = await lookup(key, loader)
      if (found.status === 'HIT') (found.layer === 'l1' ? metrics.hitL1 : metrics.hitRedis).inc()
      else if (found.status === 'STALE') metrics.stale.inc()
      else metrics.miss.inc()
      return { value: found.value, serialized: found.serialized, status: found.status }
    },

    /**
     * Reloads now whatever the TTL (beat's scheduled refresh) and stores under a new generation, so every
     * process re-reads it. False when another loader holds the lock (it is refreshing already).
     */
    async refresh(key: string, loader: Loader<T>): Promise<boolean> {
      const token = await single.lock(key)
      if (!token) return false
      try {
        const generation = await entries.generation(key)
        return (await load(key, loader, generation, token, randomUUID())).stored
      } catch (error) {
        await single.release(key, token).catch(() => {})
        throw error
      }
    },

    /** New generation in Redis, Redis copy deleted, L1 copies dropped here and (broadcast) everywhere. */
    invalidate: (keys: string[]) => invalidation.invalidate(keys),

    /**
     * Runs a SQL write, then invalidates. While Redis is down the write is refused (503, nothing changed): a
     * write the cache could not be told about would leave the old value served after Redis comes back. The
     * cache is not touched before the write, so a write that fails (SQL down) leaves the stale value serving.
     */
    async mutate<R>(keys: string[], write: () => Promise<R>): Promise<R> {
      if (!redisUp()) throw unavailable('Redis')
      const result = await write()
      try {
        await invalidation.invalidate(keys)
      } catch (error) {
        // The write is committed: failing now would invite a retry that writes twice. Redis died between the
        // check and here; the old value may be served until its TTL.
        log.error({ err: error, cache: o.name, keys }, 'cache invalidation after a write failed')
      }
      return result
    },

    /** This process's copies (diagnostics and tests). */
    l1: { has: (key: string) => l1.has(key), clear: () => l1.clear() },

    async stop(): Promise<void> {
      await invalidation.stop()
      await Promise.allSettled(refreshing)
    },
  }
}

export type Cache<T> = ReturnType<typeof createCache<T>>
