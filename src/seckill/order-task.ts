import type { Logger } from '../infra/logger.ts'
import { PermanentTaskError, type TaskHandler } from '../tasks/types.ts'
import type { Admissions } from './admission.ts'
import type { OrderStore } from './orders.ts'
import type { ProductStore } from './products.ts'
import { restoreProduct } from './restore.ts'

/** Creates the order of one admission. Result: `{orderId}`. */
export const ORDER_TASK = 'hotspot.seckill.create_order'

export interface OrderTaskKwargs {
  productId: number
  userId: string
  /** The admission's id (= the first task id): the admission record in Redis holds it. */
  admissionId: string
  /** When Redis admitted the buyer (ms); tells a lost admission from an undone one after a Redis loss. */
  admittedAt: number
}

function parseKwargs(kwargs: Record<string, unknown>): OrderTaskKwargs {
  const { productId, userId, admissionId, admittedAt } = kwargs
  if (
    !Number.isSafeInteger(productId) ||
    typeof userId !== 'string' ||
    userId === '' ||
    typeof admissionId !== 'string' ||
    admissionId === '' ||
    !Number.isSafeInteger(admittedAt)
  ) {
    throw new PermanentTaskError('expected kwargs productId, userId, admissionId and admittedAt')
  }
  return { productId, userId, admissionId, admittedAt } as OrderTaskKwargs
}

/**
 * Claims the admission in Redis (from then on it is never undone), then inserts the order. Safe to run any
 * number of times: the claim is idempotent and UNIQUE(product_id, user_id) turns a second insert into a read
 * of the first order.
 */
export function orderTaskHandler(deps: {
  admissions: Admissions
  orders: OrderStore
  products: ProductStore
  log: Logger
}): TaskHandler {
  const { admissions, orders, products } = deps
  return async (_args, kwargs) => {
    const order = parseKwargs(kwargs)
    const claim = () => admissions.claim(order.productId, order.userId, order.admissionId, order.admittedAt)
    let claimed = await claim()
    if (claimed === 'unknown_product') {
      // Redis lost the product: load it from SQL (its orders included), then claim again.
      const row = await products.get(order.productId)
      if (!row) {
        const reason = `product ${order.productId} does not exist`
        await orders.recordFailure(order, reason)
        throw new PermanentTaskError(reason)
      }
      await restoreProduct({ admissions, orders }, row)
      claimed = await claim()
    }
    if (claimed === 'cancelled') {
      // Undone because its task was never published: the buyer got 503, no order was ever promised.
      throw new PermanentTaskError('the admission was undone (its publish failed): no order')
    }
    if (claimed === 'sold_out' || claimed === 'unknown_product') {
      const reason = `admission lost with Redis data and the product is ${claimed}`
      await orders.recordFailure(order, reason)
      throw new PermanentTaskError(reason)
    }
    const orderId = await orders.place(order)
    return { orderId }
  }
}
