import type { Feature, FeatureContext } from '../feature.ts'
import { cacheRoutes } from './routes.ts'
import { createTagInvalidator, createTagStore } from './tags.ts'

/** The cache's own admin surface: `POST /api/cache/invalidate` (tags). The caches themselves live in features. */
export function createCacheFeature(ctx: FeatureContext) {
  const store = createTagStore(ctx.cacheRedis ?? ctx.redis, ctx.prefix)
  const tags = createTagInvalidator({ store, events: ctx.events, prefix: ctx.prefix, log: ctx.log })
  const feature: Feature = {
    name: 'cache',
    routes: (http) => {
      http.register(cacheRoutes, { tags, admin: ctx.admin })
    },
    stop: () => tags.stop(),
  }
  return { feature, tags }
}
