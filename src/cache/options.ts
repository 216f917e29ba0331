import { assertTags, MAX_ENTRY_LIFE_MS } from './tags.ts'

export interface CacheOptions<T> {
  /** Names the cache in Redis keys, metrics and invalidation messages. */
  name: string
  /** How long a loaded value is fresh (served as HIT). */
  ttlMs: number
  /**
   * After the TTL, how long the old value may still be served (STALE) while one refresher reloads it, and while
   * SQL is down. 0: a value past its TTL is a miss. Default 0.
   */
  graceMs?: number
  /** Each TTL is shortened by up to this fraction at random, so values filled together expire apart. Default 0.1. */
  jitter?: number
  /** In-process copy in front of Redis. */
  l1?: {
    /** Most keys held (least recently used go first). Default 1000. */
    maxEntries?: number
    /** Longest an entry stays in L1 (never past its Redis freshness). Default 10 s. */
    ttlMs?: number
  }
  /** Single flight across processes. */
  lock?: {
    /** Lifetime of the fill lock: a loader that dies frees it after this long. Default 10 s. */
    ttlMs?: number
    /** After a failed refresh of a stale value, the pause before the next attempt (while SQL is down: one
     *  attempt per pause across all processes, not one per request). Default 1 s. */
    retryMs?: number
    /** How long a caller waits for another process's loader before loading itself. Default 3 s. */
    waitMs?: number
  }
  /**
   * Tags every entry of this cache carries (a loader may add more): `invalidateTags` of any of them voids the
   * entry in every process. Default none.
   */
  tags?: string[]
  /**
   * A reader holding a stale value (within grace) waits this long for its refresh, then is served the stale
   * value while the load finishes in the background. 0: served at once (stale-while-revalidate). Default 0.
   */
  softTimeoutMs?: number
  /**
   * A reader with nothing stale to fall back on waits this long for the load, then fails 503 `unavailable`;
   * the load goes on and stores its value for the next reader. 0: waits as long as the load takes. Default 0.
   */
  hardTimeoutMs?: number
  serialize?(value: T): string
  deserialize?(serialized: string): T
}

export type ResolvedCacheOptions<T> = Required<Omit<CacheOptions<T>, 'l1' | 'lock'>> & {
  l1: { maxEntries: number; ttlMs: number }
  lock: { ttlMs: number; waitMs: number; retryMs: number }
  /** Lifetime of a generation key: longer than any entry, so a live entry never outlives its generation. */
  generationTtlMs: number
}

/** Every default lives here. */
export function resolveOptions<T>(options: CacheOptions<T>): ResolvedCacheOptions<T> {
  const graceMs = options.graceMs ?? 0
  const softTimeoutMs = options.softTimeoutMs ?? 0
  const hardTimeoutMs = options.hardTimeoutMs ?? 0
  const tags = options.tags ?? []
  assertTags(tags)
  if (options.ttlMs + graceMs > MAX_ENTRY_LIFE_MS)
    throw new Error(`cache ${options.name}: ttlMs + graceMs must not pass ${MAX_ENTRY_LIFE_MS} ms`)
  if (hardTimeoutMs > 0 && softTimeoutMs >= hardTimeoutMs)
    throw new Error(`cache ${options.name}: softTimeoutMs must be below hardTimeoutMs`)
  return {
    name: options.name,
    ttlMs: options.ttlMs,
    graceMs,
    jitter: options.jitter ?? 0.1,
    l1: { maxEntries: options.l1?.maxEntries ?? 1000, ttlMs: options.l1?.ttlMs ?? 10_000 },
    lock: {
      ttlMs: options.lock?.ttlMs ?? 10_000,
      waitMs: options.lock?.waitMs ?? 3000,
      retryMs: options.lock?.retryMs ?? 1000,
    },
    tags,
    softTimeoutMs,
    hardTimeoutMs,
    serialize: options.serialize ?? ((value: T) => JSON.stringify(value)),
    deserialize: options.deserialize ?? ((serialized: string) => JSON.parse(serialized) as T),
    generationTtlMs: Math.max(86_400_000, 2 * (options.ttlMs + graceMs)),
  }
}
