import type { Feature, FeatureContext } from '../feature.ts'
import { viewsHandler } from '../grpc/views.ts'
import { loadScripts } from '../infra/redis.ts'
import { createFlusher } from './flush.ts'
import { createLiveCounts } from './live.ts'
import { countersRoutes } from './routes.ts'
import { createCountersService } from './service.ts'

/** View counters and rankings: routes, the write-behind flush loop, the Redis rebuild at start. */
export function createCountersFeature(ctx: FeatureContext) {
  loadScripts(ctx.redis, new URL('./', import.meta.url))
  const live = createLiveCounts({ events: ctx.events, log: ctx.log, prefix: ctx.prefix })
  const { db, redis, prefix, log } = ctx
  const service = createCountersService({
    db,
    redis,
    prefix,
    log,
    dedupeSeconds: ctx.config.counters.dedupeSeconds,
    trendingHalfLifeHours: ctx.config.counters.trendingHalfLifeHours,
    onViewed: (id, counts) => {
      live.viewed(id, counts)
      ctx.domainEvents.viewed(id)
    },
    domainEvents: ctx.domainEvents,
  })
  const flusher = createFlusher({ db, redis, prefix, log })
  let loop: { stop(): Promise<void> } | undefined
  const feature: Feature = {
    name: 'counters',
    routes: (http) => countersRoutes(http, { counters: service, admin: ctx.admin }),
    grpc: ({ metrics, log }) => ({
      'hotspot.v1.Views': { Record: viewsHandler({ counters: service, metrics, log }) },
    }),
    prepare: async () => {
      await service.rebuild()
    },
    start: () => {
      loop ??= flusher.start(ctx.config.counters.flushMs)
    },
    stop: async () => {
      live.stop()
      await loop?.stop()
    },
  }
  return { feature, service, flusher }
}
