import { type Env, integer } from '../config.ts'

/** The banners feature's settings (BANNERS_*), validated with the rest of the configuration at start. */
export interface BannersConfig {
  /** How often beat refreshes the cached banner list (task `hotspot.banners.refresh`). */
  refreshSeconds: number
  /** How long the cached list is fresh (HIT) before it is refreshed. */
  cacheTtlMs: number
  /** After the TTL, how long a stale copy may still be served (STALE) while one refresher reloads it or SQL is down. */
  cacheGraceMs: number
}

export function loadBannersConfig(env: Env): BannersConfig {
  return {
    refreshSeconds: integer(env, 'BANNERS_REFRESH_SECONDS', 300, 1, 86_400),
    cacheTtlMs: integer(env, 'BANNERS_CACHE_TTL_MS', 600_000, 50, 86_400_000),
    cacheGraceMs: integer(env, 'BANNERS_CACHE_GRACE_MS', 3_600_000, 0, 604_800_000),
  }
}
