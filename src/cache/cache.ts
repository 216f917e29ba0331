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
import {
  assertTags,
  createTagInvalidator,
  createTagStore,
  MAX_ENTRY_LIFE_MS,
  onTagsInvalidated,
} from './tags.ts'

export type CacheStatus = 'HIT' | 'MISS' | 'STALE'

export interface CacheResult<T> {
  value: T
  status: CacheStatus
  /** The value as stored (JSON unless `serialize` says otherwise): a route can send it as is. */
  serialized: string
}

/** What a loader may say about the entry, from what it loaded (adaptive TTL, tags). */
export interface LoadContext {
  /** This entry's fresh lifetime instead of the cache's `ttlMs` (jitter still shortens it), in ms ≥ 1. */
  setTtl(ms: number): void
  /** Tags of this entry besides the cache's own (a second call replaces the first). */
  setTags(tags: string[]): void
}

/** Reads the value from the record (SQL). Runs once per miss across every process. */
export type Loader<T> = (entry: LoadContext) => Promise<T>

/** What a loader run gave: the value and what it set for its entry. */
interface Loaded<T> {
  value: T
  ttlMs: number
  tags: string[]
}

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

/** Where an entry's tags stand: those it carries, the epoch its loader read, the epoch they were last checked at. */
interface TagState {
  tags: string[]
  epoch: number
  checkedEpoch: number
}

const TIMED_OUT = Symbol('timed out')

/** Resolves with `TIMED_OUT` after `ms` unless `run` settles first (its outcome then, rejection included). */
async function within<R>(run: Promise<R>, ms: number): Promise<R | typeof TIMED_OUT> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<typeof TIMED_OUT>((resolve) => {
    timer = setTimeout(resolve, ms, TIMED_OUT)
  })
  try {
    return await Promise.race([run, timeout])
  } finally {
    clearTimeout(timer)
  }
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
  const tagStore = createTagStore(redis, deps.prefix)
  const tagInvalidator = createTagInvalidator({
    store: tagStore,
    events: deps.events,
    prefix: deps.prefix,
    log,
  })
  const offTags = onTagsInvalidated(deps.events, deps.prefix, (tags) => l1.dropTagged(tags))
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
  /** Background refreshes of stale values and loads past a timeout: stop() waits for them. */
  const refreshing = new Set<Promise<unknown>>()
  const inBackground = (run: Promise<unknown>) => {
    const tracked = run.finally(() => refreshing.delete(tracked))
    refreshing.add(tracked)
  }

  // A client that is reconnecting would hold commands in its offline queue for seconds: go around it at once.
  const redisUp = () => redis.status === 'ready'
  const withJitter = (ttlMs: number) => ttlMs * (1 - o.jitter * Math.random())
  const fromStore = (serialized: string): Stored<T> => ({ value: o.deserialize(serialized), serialized })

  function remember(
    key: string,
    found: Stored<T>,
    generation: string,
    freshMs: number,
    remainingMs: number,
    tags: TagState,
  ) {
    const now = Date.now()
    const entry: L1Entry<T> = {
      ...found,
      ...tags,
      generation,
      freshUntil: now + freshMs,
      staleUntil: now + remainingMs,
    }
    l1.set(key, entry)
  }

  /**
   * 0 when none of the entry's tags was invalidated after its loader read the epoch, else the newest such
   * invalidation's epoch. `epoch` is the one read when the caller arrived: an entry loaded at or after it needs
   * no look at its tags, and neither does one whose tags were checked as of it.
   */
  async function voidedAt(entry: TagState, epoch: number): Promise<number> {
    if (entry.tags.length === 0 || entry.checkedEpoch >= epoch) return 0
    const newest = await tagStore.newest(entry.tags)
    return newest > entry.epoch ? newest : 0
  }

  async function runLoader(loader: Loader<T>): Promise<Loaded<T>> {
    const started = performance.now()
    let ttlMs = o.ttlMs
    let tags = o.tags
    const context: LoadContext = {
      setTtl(ms) {
        if (!(Number.isFinite(ms) && ms >= 1)) throw new Error(`cache ${o.name}: a TTL must be ≥ 1 ms`)
        ttlMs = Math.min(ms, MAX_ENTRY_LIFE_MS - o.graceMs)
      },
      setTags(more) {
        assertTags(more)
        tags = [...new Set([...o.tags, ...more])]
      },
    }
    try {
      const value = await loader(context)
      metrics.loadOk.inc()
      metrics.loadSeconds.observe((performance.now() - started) / 1000)
      return { value, ttlMs, tags }
    } catch (error) {
      metrics.loadFailed.inc()
      throw error
    }
  }

  /**
   * Loads and stores the value, unless an invalidation happened since `generation` was read. `epoch` is the tag
   * epoch read before the loader runs: a tag invalidated after it voids what this load stores.
   */
  async function load(
    key: string,
    loader: Loader<T>,
    generation: string,
    token: string,
    epoch: number,
    newGeneration = '',
  ) {
    const { value, ttlMs, tags } = await runLoader(loader)
    const serialized = o.serialize(value)
    const freshMs = withJitter(ttlMs)
    const stored = await entries
      .fill(key, {
        generation,
        serialized,
        freshMs,
        graceMs: o.graceMs,
        token,
        newGeneration,
        tags,
        epoch,
      })
      .catch((error) => {
        // Redis went away after the load: the caller still gets the value, it is just not shared.
        if (!isUnavailableError(error)) throw error
        log.warn({ err: error, cache: o.name }, 'cache could not store a loaded value')
        return false
      })
    if (stored) {
      const tagState = { tags, epoch, checkedEpoch: epoch }
      remember(
        key,
        { value, serialized },
        newGeneration || generation,
        freshMs,
        freshMs + o.graceMs,
        tagState,
      )
    }
    return { value, serialized, stored }
  }

  /** Refreshes a stale value; resolves with the new one, or undefined when the refresh failed. */
  function refreshInBackground(
    key: string,
    loader: Loader<T>,
    generation: string,
    token: string,
    epoch: number,
  ) {
    const run = load(key, loader, generation, token, epoch).catch(async (error) => {
      log.warn({ err: error, cache: o.name, key }, 'cache refresh failed, serving stale')
      // Keep the lock a little: while SQL is down, one attempt per pause instead of one per request.
      await single.release(key, token, o.lock.retryMs).catch(() => {})
      return undefined
    })
    inBackground(run)
    return run
  }

  /** L1 had nothing usable: Redis, then (one caller across processes) SQL. `epoch`: read on arrival. */
  async function fromRedis(key: string, loader: Loader<T>, epoch: number): Promise<Found<T>> {
    const claim = await single.claim(key, {
      voidedAt: (entry) => voidedAt({ ...entry, checkedEpoch: entry.epoch }, epoch),
      staleWaitMs: o.softTimeoutMs,
    })
    if (claim.kind === 'fresh' || claim.kind === 'stale') {
      const { generation, remainingMs, graceMs, tags } = claim.entry
      // Its tags held as of the arrival epoch (claim checked them), or it was loaded after it.
      const tagState = { tags, epoch: claim.entry.epoch, checkedEpoch: Math.max(claim.entry.epoch, epoch) }
      const found = fromStore(claim.entry.serialized as string)
      if (claim.kind === 'fresh') {
        remember(key, found, generation, remainingMs - graceMs, remainingMs, tagState)
        return { ...found, status: 'HIT', layer: 'redis' }
      }
      remember(key, found, generation, 0, remainingMs, tagState)
      if (!claim.token) return { ...found, status: 'STALE' }
      const refresh = refreshInBackground(key, loader, generation, claim.token, epoch)
      if (o.softTimeoutMs === 0) return { ...found, status: 'STALE' }
      // Soft timeout: the new value if it comes in time, else the stale one while the refresh goes on.
      const refreshed = await within(refresh, o.softTimeoutMs)
      if (refreshed === TIMED_OUT || refreshed === undefined) {
        if (refreshed === TIMED_OUT) metrics.softTimeouts.inc()
        return { ...found, status: 'STALE' }
      }
      return { value: refreshed.value, serialized: refreshed.serialized, status: 'MISS' }
    }
    try {
      const { value, serialized } = await load(key, loader, claim.generation, claim.token, epoch)
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
        const { value, ttlMs, tags } = await runLoader(loader)
        const found = { value, serialized: o.serialize(value) }
        const freshMs = Math.min(withJitter(ttlMs), o.l1.ttlMs)
        // Generation '?' never matches Redis: once Redis is back this copy is re-checked before use.
        remember(key, found, '?', freshMs, freshMs + o.graceMs, { tags, epoch: 0, checkedEpoch: 0 })
        return { ...found, status: 'MISS' as const }
      })
    } catch (error) {
      if (cached && now < cached.staleUntil) return { ...cached, status: 'STALE' }
      throw error
    }
  }

  /**
   * Hard timeout: a read still waiting for its load after `hardTimeoutMs` fails 503 (or, with Redis down, gets
   * this process's stale copy); the load goes on in the background and stores its value for the next reader.
   */
  async function withinHardTimeout(key: string, pending: Promise<Found<T>>): Promise<Found<T>> {
    const found = await within(pending, o.hardTimeoutMs)
    if (found !== TIMED_OUT) return found
    metrics.hardTimeouts.inc()
    inBackground(pending.catch((error) => log.warn({ err: error, cache: o.name, key }, 'cache load failed')))
    const cached = redisUp() ? undefined : l1.get(key)
    if (cached && Date.now() < cached.staleUntil) return { ...cached, status: 'STALE' }
    throw unavailable(`${o.name} (its load took over ${o.hardTimeoutMs} ms)`)
  }

  async function lookup(key: string, loader: Loader<T>): Promise<Found<T>> {
    if (!redisUp()) return withoutRedis(key, loader)
    try {
      // The one round trip of a hit (two GETs, pipelined): is the copy in L1 still of the current generation,
      // and has no tag invalidation happened since (the epoch)?
      const [generation, epoch] = await Promise.all([generationOf(key), tagStore.epoch()])
      const cached = l1.get(key)
      if (
        cached &&
        cached.generation === generation &&
        Date.now() < cached.freshUntil &&
        (cached.checkedEpoch >= epoch || (await voidedAt(cached, epoch)) === 0)
      ) {
        cached.checkedEpoch = Math.max(cached.checkedEpoch, epoch)
        return { ...cached, status: 'HIT', layer: 'l1' }
      }
      // Callers that saw the same generation and epoch share one flight; one that saw a newer one never joins
      // an older (it might return what an invalidation the caller must see had voided).
      return await flights.run(`${key}\n${generation}\n${epoch}`, () => fromRedis(key, loader, epoch))
    } catch (error) {
      if (!redisUp() && isUnavailableError(error)) return withoutRedis(key, loader)
      throw error
    }
  }

  return {
    name: o.name,

    async get(key: string, loader: Loader<T>): Promise<CacheResult<T>> {
      const found =
        o.hardTimeoutMs > 0 ? await withinHardTimeout(key, lookup(key, loader)) : await lookup(key, loader)
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
        const [generation, epoch] = await Promise.all([entries.generation(key), tagStore.epoch()])
        return (await load(key, loader, generation, token, epoch, randomUUID())).stored
      } catch (error) {
        await single.release(key, token).catch(() => {})
        throw error
      }
    },

    /** New generation in Redis, Redis copy deleted, L1 copies dropped here and (broadcast) everywhere. */
    invalidate: (keys: string[]) => invalidation.invalidate(keys),

    /**
     * Voids every entry carrying one of `tags`, in every cache of every process of this app: once this
     * resolves no read anywhere serves one (each read checks the tags' generations). No scan of keys.
     */
    async invalidateTags(tags: string[]): Promise<void> {
      await tagInvalidator.invalidate(tags)
      l1.dropTagged(tags)
    },

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
      offTags()
      await Promise.all([invalidation.stop(), tagInvalidator.stop()])
      await Promise.allSettled(refreshing)
    },
  }
}

export type Cache<T> = ReturnType<typeof createCache<T>>
