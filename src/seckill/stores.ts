import type { DomainEventSink } from '../domain-events/types.ts'
import type { Db } from '../infra/db/index.ts'
import type { RedisClient } from '../infra/redis.ts'
import { createAdmissions } from './admission.ts'
import { createOrderStore } from './orders.ts'
import { createProductStore } from './products.ts'

/**
 * The flash sale's stores: products and orders in SQL, admissions in Redis. Built once by the feature and handed
 * to the service, the order task and the reconciliation; nothing outside src/seckill/ sees them.
 */
export function createSeckillStores(deps: {
  db: Db
  redis: RedisClient
  prefix: string
  /** order.created / product.sold_out commit with the order. */
  domainEvents?: DomainEventSink
  /** Hears of each product whose `remaining` went back up (the sold-out memory of API processes). */
  restocked?(productId: number): void
}) {
  return {
    products: createProductStore(deps.db),
    orders: createOrderStore(deps.db, deps.domainEvents),
    admissions: createAdmissions(deps.redis, deps.prefix, { restocked: deps.restocked }),
  }
}

export type SeckillStores = ReturnType<typeof createSeckillStores>
