import { type Cache, createCache } from '../cache/cache.ts'
import type { Feature, FeatureContext } from '../feature.ts'
import { CACHE_NAME } from './keys.ts'
import { bannersRoutes } from './routes.ts'
import { seedDemoBanners } from './seed.ts'
import { type BannersService, createBannersService } from './service.ts'
import type { PublicBanner } from './store.ts'

export const REFRESH_TASK = 'hotspot.banners.refresh'

export interface BannersFeature extends Feature {
  service: BannersService
  /** The list's cache (tests reach its L1 through here). */
  cache: Cache<PublicBanner[]>
}

/** Home-page banners: the cached public list, admin writes, the demo seed and beat's scheduled refresh. */
export function createBannersFeature(ctx: FeatureContext) {
  const { cacheTtlMs, cacheGraceMs, refreshSeconds } = ctx.config.banners
  const cache = createCache<PublicBanner[]>(ctx, {
    name: CACHE_NAME,
    ttlMs: cacheTtlMs,
    graceMs: cacheGraceMs,
    // `POST /api/cache/invalidate {"tags":["banners"]}` drops it in every process.
    tags: [CACHE_NAME],
    softTimeoutMs: ctx.config.cache.softTimeoutMs,
    hardTimeoutMs: ctx.config.cache.hardTimeoutMs,
  })
  const service = createBannersService({ db: ctx.db, cache, domainEvents: ctx.domainEvents })

  // Beat fires on one process; whichever worker takes the task refreshes Redis for all of them.
  ctx.tasks.registry.register(
    REFRESH_TASK,
    async () => ({ refreshed: await service.refresh() }),
    { maxRetries: 0 }, // the next tick is the retry
  )
  ctx.schedule.add({ name: 'banners.refresh', everySeconds: refreshSeconds, task: REFRESH_TASK })

  const feature: BannersFeature = {
    name: 'banners',
    service,
    cache,
    routes: (http) => {
      http.register(bannersRoutes, { banners: service, admin: ctx.admin })
    },
    prepare: async () => {
      await seedDemoBanners({ banners: service, redis: ctx.redis, prefix: ctx.prefix, log: ctx.log })
    },
    stop: () => cache.stop(),
  }
  return { feature, service, cache }
}
