import { type Env, integer } from '../config.ts'

/** The view counters' settings (COUNTERS_*), validated with the rest of the configuration at start. */
export interface CountersConfig {
  /** How often the write-behind loop moves view counts into SQL. */
  flushMs: number
  /** A visitor's views of one item count once per this many seconds; 0 counts every view. */
  dedupeSeconds: number
  /** Trending rankings: a view's weight halves every this many hours. */
  trendingHalfLifeHours: number
}

export function loadCountersConfig(env: Env): CountersConfig {
  return {
    flushMs: integer(env, 'COUNTERS_FLUSH_MS', 2000, 50, 3_600_000),
    dedupeSeconds: integer(env, 'COUNTERS_DEDUPE_SECONDS', 0, 0, 30 * 86_400),
    trendingHalfLifeHours: integer(env, 'COUNTERS_TRENDING_HALF_LIFE_HOURS', 6, 1, 24 * 365),
  }
}
