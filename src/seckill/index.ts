import type { Feature, FeatureContext } from '../feature.ts'
import { loadScripts } from '../infra/redis.ts'
import { createBuyLimiter } from './limits.ts'
import { ORDER_TASK, orderTaskHandler } from './order-task.ts'
import { productListRoute } from './product-list-route.ts'
import { createReconciler, RECONCILE_TASK } from './reconcile.ts'
import { seckillRoutes } from './routes.ts'
import { createSeckillService } from './service.ts'
import { createSoldOutMemory } from './sold-out.ts'
import { createSeckillStores } from './stores.ts'

/** Flash sale: routes, the order task, the reconciliation (task + beat entry), the Redis rebuild at start. */
export function createSeckillFeature(ctx: FeatureContext) {
  loadScripts(ctx.redis, new URL('./', import.meta.url))
  const soldOut = createSoldOutMemory({
    events: ctx.events,
    log: ctx.log,
    trustMs: ctx.config.seckill.soldOutTrustMs,
  })
  const { db, redis, prefix, log } = ctx
  const stores = createSeckillStores({
    db,
    redis,
    prefix,
    domainEvents: ctx.domainEvents,
    restocked: soldOut.restocked,
  })
  const producer = ctx.tasks.producer
  const service = createSeckillService({ redis, prefix, log, producer, stores, soldOut })
  const reconcile = createReconciler({
    redis,
    prefix,
    stores,
    log,
    producer,
    results: ctx.tasks.results,
    resendAfterMs: ctx.config.seckill.resendAfterSeconds * 1000,
  })
  ctx.tasks.registry.register(
    ORDER_TASK,
    orderTaskHandler({ ...stores, log }),
    // SQL down for a while: keep trying for several minutes; after that reconciliation sends it again.
    { maxRetries: 8, retryBaseDelay: 1, retryMaxDelay: 60 },
  )
  ctx.tasks.registry.register(RECONCILE_TASK, async () => reconcile(), { maxRetries: 0 })
  ctx.schedule.add({
    name: 'seckill-reconcile',
    everySeconds: ctx.config.seckill.reconcileSeconds,
    task: RECONCILE_TASK,
  })
  const limits = createBuyLimiter(ctx.redis, ctx.prefix, ctx.config.seckill, ctx.metrics)
  const feature: Feature = {
    name: 'seckill',
    routes: (http) => {
      seckillRoutes(http, { seckill: service, admin: ctx.admin, limits })
      productListRoute(http, { seckill: service })
    },
    prepare: async () => {
      await service.rebuild()
    },
  }
  return { feature, service, reconcile }
}
