import type { Feature, FeatureContext } from '../feature.ts'
import { loadScripts } from '../infra/redis.ts'
import { createBuyLimiter } from './limits.ts'
import { ORDER_TASK, orderTaskHandler } from './order-task.ts'
import { createReconciler, RECONCILE_TASK } from './reconcile.ts'
import { seckillRoutes } from './routes.ts'
import { createSeckillService } from './service.ts'
import { createSoldOutMemory } from './sold-out.ts'

/** Flash sale: routes, the order task, the reconciliation (task + beat entry), the Redis rebuild at start. */
export function createSeckillFeature(ctx: FeatureContext) {
  loadScripts(ctx.redis, new URL('./', import.meta.url))
  const soldOut = createSoldOutMemory({
    events: ctx.events,
    log: ctx.log,
    trustMs: ctx.config.seckill.soldOutTrustMs,
  })
  const service = createSeckillService({ ...ctx, producer: ctx.tasks.producer, soldOut })
  const reconcile = createReconciler({
    ...ctx,
    restocked: soldOut.restocked,
    producer: ctx.tasks.producer,
    results: ctx.tasks.results,
    resendAfterMs: ctx.config.seckill.resendAfterSeconds * 1000,
  })
  ctx.tasks.registry.register(
    ORDER_TASK,
    orderTaskHandler({ ...service, log: ctx.log }),
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
    routes: (http) => seckillRoutes(http, { seckill: service, admin: ctx.admin, limits }),
    prepare: async () => {
      await service.rebuild()
    },
  }
  return { feature, service, reconcile }
}
