import { ConfigError, type Env, integer } from '../config.ts'

/** The cache's settings (CACHE_*) every cache starts from, validated with the rest of the configuration. */
export interface CacheConfig {
  /** A reader with a stale value waits this long for its refresh, then gets the stale value (0: at once). */
  softTimeoutMs: number
  /** A reader with nothing stale waits this long for the load, then gets 503 (0: as long as it takes). */
  hardTimeoutMs: number
}

export function loadCacheConfig(env: Env): CacheConfig {
  const softTimeoutMs = integer(env, 'CACHE_SOFT_TIMEOUT_MS', 0, 0, 600_000)
  const hardTimeoutMs = integer(env, 'CACHE_HARD_TIMEOUT_MS', 5000, 0, 600_000)
  if (hardTimeoutMs > 0 && softTimeoutMs >= hardTimeoutMs)
    throw new ConfigError('CACHE_SOFT_TIMEOUT_MS', `must be below CACHE_HARD_TIMEOUT_MS (${hardTimeoutMs})`)
  return { softTimeoutMs, hardTimeoutMs }
}
