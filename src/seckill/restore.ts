import { createLock } from '../infra/lock/index.ts'
import type { Logger } from '../infra/logger.ts'
import type { RedisClient } from '../infra/redis.ts'
import type { AdmissionRecord, Admissions, ProductFields } from './admission.ts'
import { readyKey, rebuildLockKey } from './keys.ts'
import type { OrderStore } from './orders.ts'
import type { ProductRow, ProductStore } from './products.ts'

/** The hot copy of a product's SQL row that Redis keeps (the admission script reads the window and stock). */
function productFields(row: ProductRow): ProductFields {
  return {
    name: row.name,
    price: row.price,
    stock: row.stock,
    startsAt: row.startsAt === null ? undefined : Date.parse(row.startsAt),
    endsAt: row.endsAt === null ? undefined : Date.parse(row.endsAt),
    createdAt: row.createdAt,
  }
}

/**
 * Loads one product into Redis from SQL if Redis does not have it: its orders become claimed admissions, so
 * `remaining` = stock - orders and nobody who holds an order can buy again. False when Redis still had it.
 */
export async function restoreProduct(
  deps: { admissions: Admissions; orders: OrderStore },
  row: ProductRow,
): Promise<boolean> {
  const buyers = (await deps.orders.ofProduct(row.id)).map((order): [string, AdmissionRecord] => [
    order.userId,
    { state: 'c', admittedAt: Date.parse(order.createdAt), admissionId: order.admissionId },
  ])
  return deps.admissions.load(row.id, productFields(row), 'restore', buyers)
}

/**
 * Rebuilds the flash sale's Redis side from SQL when Redis has lost it (first start, or a Redis that came back
 * empty): every product Redis does not know is restored. One process does it while the others wait for it.
 */
export async function rebuildSeckill(deps: {
  redis: RedisClient
  prefix: string
  products: ProductStore
  orders: OrderStore
  admissions: Admissions
  log: Logger
}): Promise<boolean> {
  const { redis, prefix, log } = deps
  if ((await redis.exists(readyKey(prefix))) === 1) return false
  const lock = createLock(redis, rebuildLockKey(prefix), { ttlMs: 60_000 })
  if (!(await lock.tryAcquire())) {
    const deadline = Date.now() + 60_000
    while (Date.now() < deadline && (await redis.exists(readyKey(prefix))) === 0) {
      await new Promise((r) => setTimeout(r, 100))
    }
    return false
  }
  try {
    const started = Date.now()
    let restored = 0
    for await (const page of deps.products.all()) {
      // One EXISTS per product (auto-pipelined): a Cluster pipeline may not span slots.
      const known = await Promise.all(page.map((row) => deps.admissions.exists(row.id)))
      for (const [i, row] of page.entries()) {
        if (known[i]) continue
        if (await restoreProduct(deps, row)) restored++
      }
    }
    await redis.set(readyKey(prefix), new Date().toISOString())
    if (restored > 0)
      log.info({ restored, ms: Date.now() - started }, 'flash-sale products restored in Redis')
    return true
  } finally {
    await lock.release()
  }
}
