import { randomUUID } from 'node:crypto'
import type { Logger } from '../infra/logger.ts'
import type { RedisClient } from '../infra/redis.ts'
import type { TaskProducer, TaskResults } from '../tasks/types.ts'
import type { AdmissionRecord } from './admission.ts'
import { ORDER_TASK, type OrderTaskKwargs } from './order-task.ts'
import type { ProductRow } from './products.ts'
import { restoreProduct } from './restore.ts'
import type { SeckillStores } from './stores.ts'

/** Runs the reconciliation (beat entry `seckill-reconcile`, or `hotspot seckill reconcile`). */
export const RECONCILE_TASK = 'hotspot.seckill.reconcile'

/** Sales that ended longer ago than this have no order in flight any more: they are not compared again. */
const LOOKBACK_MS = 7 * 86_400_000

export interface ReconcileReport {
  products: number
  /** Admission records in Redis / orders in SQL, over the products compared. */
  admitted: number
  orders: number
  /** Products Redis had lost, loaded again from SQL. */
  restoredProducts: number
  /** Orders SQL has but Redis had no admission for: the admission is written back (never a second order). */
  restoredBuyers: number
  /** Admissions with no order, older than the grace period: their order task was sent again. */
  resent: number
  /** Products whose `remaining` disagreed with stock - admissions, and what it was set to. */
  drift: { productId: number; remainingBefore: number; remainingAfter: number }[]
  /** Admissions with no order yet, still within the grace period (their task is probably in flight). */
  inFlight: number
}

/**
 * Compares Redis admissions with SQL orders, product by product, and repairs what disagrees: a missing
 * product or buyer record is restored from SQL, an admission whose order never arrived gets its order task
 * again, and `remaining` is set back to stock - admissions. Safe to run at any time, by several processes,
 * during a rush: every repair is one Lua script or an idempotent task.
 */
export function createReconciler(deps: {
  redis: RedisClient
  /** Key prefix of the app (createApp's `keyPrefix`, `hs` by default). */
  prefix: string
  stores: SeckillStores
  producer: TaskProducer
  results: TaskResults
  log: Logger
  /** Admissions younger than this are left alone: their order task is most likely still on its way. */
  resendAfterMs: number
}) {
  const { producer, results, log } = deps
  const { products, orders, admissions } = deps.stores

  /** Sends an admission's order again: under its own id, unless that id already reported SUCCESS. */
  async function resend(productId: number, userId: string, record: AdmissionRecord): Promise<boolean> {
    const state = await results.get(record.admissionId)
    if (state.status === 'RETRY') return false // the broker holds its retry
    // A SUCCESS whose order is gone (deleted row): the worker skips a finished id, so use a fresh one.
    const taskId = state.status === 'SUCCESS' ? randomUUID() : record.admissionId
    const kwargs: OrderTaskKwargs = {
      productId,
      userId,
      admissionId: record.admissionId,
      admittedAt: record.admittedAt,
    }
    await producer.send(ORDER_TASK, [], { ...kwargs }, { taskId })
    return true
  }

  async function product(row: ProductRow, now: number, report: ReconcileReport) {
    if (await restoreProduct({ admissions, orders }, row)) report.restoredProducts++
    const [buyers, placed] = await Promise.all([admissions.buyers(row.id), orders.ofProduct(row.id)])
    report.admitted += buyers.size
    report.orders += placed.length
    const ordered = new Set<string>()
    const restore: [string, AdmissionRecord][] = []
    for (const order of placed) {
      ordered.add(order.userId)
      if (!buyers.has(order.userId)) {
        const admittedAt = Date.parse(order.createdAt)
        restore.push([order.userId, { state: 'c', admittedAt, admissionId: order.admissionId }])
      }
    }
    const repaired = await admissions.repair(row.id, restore)
    if (!repaired) return
    report.restoredBuyers += repaired.restored
    if (repaired.remainingBefore !== repaired.remainingAfter) {
      report.drift.push({
        productId: row.id,
        remainingBefore: repaired.remainingBefore,
        remainingAfter: repaired.remainingAfter,
      })
    }
    for (const [userId, record] of buyers) {
      if (ordered.has(userId)) continue
      if (now - record.admittedAt < deps.resendAfterMs) {
        report.inFlight++
        continue
      }
      if (await resend(row.id, userId, record)) report.resent++
    }
  }

  return async function reconcile(options: { productId?: number } = {}): Promise<ReconcileReport> {
    const report: ReconcileReport = {
      products: 0,
      admitted: 0,
      orders: 0,
      restoredProducts: 0,
      restoredBuyers: 0,
      resent: 0,
      drift: [],
      inFlight: 0,
    }
    // Redis' clock: admission times come from it.
    const [seconds, micros] = await deps.redis.time()
    const now = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000)
    if (options.productId !== undefined) {
      const row = await products.get(options.productId)
      if (row) {
        report.products++
        await product(row, now, report)
      }
    } else {
      const endedAfter = new Date(now - LOOKBACK_MS).toISOString()
      for await (const page of products.all({ endedAfter })) {
        for (const row of page) {
          report.products++
          await product(row, now, report)
        }
      }
    }
    if (report.resent || report.drift.length || report.restoredBuyers || report.restoredProducts) {
      log.warn({ ...report }, 'flash-sale reconciliation repaired drift')
    }
    return report
  }
}

export type Reconcile = ReturnType<typeof createReconciler>
