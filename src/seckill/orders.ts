import { sql } from 'kysely'
import { type DomainEventSink, noDomainEvents } from '../domain-events/types.ts'
import { type Db, transact } from '../infra/db/index.ts'

export interface OrderRow {
  id: number
  productId: number
  userId: string
  admissionId: string
  createdAt: string
}

const columns = [
  'id',
  'product_id as productId',
  'user_id as userId',
  'admission_id as admissionId',
  'created_at as createdAt',
] as const

const toRow = (row: OrderRow): OrderRow => ({ ...row, id: Number(row.id), productId: Number(row.productId) })

/** The SQL record of orders: at most one per user and product (UNIQUE(product_id, user_id)). */
export function createOrderStore(db: Db, events: DomainEventSink = noDomainEvents) {
  return {
    /**
     * Idempotent: a second delivery of the same order (or a re-sent one) finds the first order instead of
     * making another. Returns the order's id either way. A new order commits with its order.created event, and
     * the one that takes the last unit with product.sold_out.
     */
    async place(input: { productId: number; userId: string; admissionId: string }): Promise<number> {
      const placed = await transact(db, async (trx) => {
        const inserted = await trx
          .insertInto('orders')
          .values({
            product_id: input.productId,
            user_id: input.userId,
            admission_id: input.admissionId,
            created_at: new Date().toISOString(),
          })
          .onConflict((oc) => oc.columns(['product_id', 'user_id']).doNothing())
          .returning('id')
          .executeTakeFirst()
        if (!inserted) return undefined
        const orderId = Number(inserted.id)
        await events.publish(trx, {
          type: 'order.created',
          data: { orderId, productId: input.productId, userId: input.userId },
        })
        // The UPDATE locks the product's row until commit: concurrent orders of one product count one by one.
        const product = await trx
          .updateTable('products')
          .set({ sold: sql`sold + 1` })
          .where('id', '=', input.productId)
          .returning(['sold', 'stock'])
          .executeTakeFirst()
        if (product && Number(product.sold) === Number(product.stock)) {
          await events.publish(trx, {
            type: 'product.sold_out',
            key: String(input.productId),
            data: { productId: input.productId, stock: Number(product.stock) },
          })
        }
        return orderId
      })
      if (placed !== undefined) return placed
      const existing = await db
        .selectFrom('orders')
        .select('id')
        .where('product_id', '=', input.productId)
        .where('user_id', '=', input.userId)
        .executeTakeFirstOrThrow()
      return Number(existing.id)
    },

    /** The order task gave up on an admission for good (the fact is this row): order.failed, once per admission. */
    async recordFailure(
      input: { productId: number; userId: string; admissionId: string },
      reason: string,
    ): Promise<void> {
      await events.publish(db, {
        type: 'order.failed',
        key: input.admissionId,
        data: { productId: input.productId, userId: input.userId, admissionId: input.admissionId, reason },
      })
    },

    /** Oldest first; `after` is the last id seen (pages stay stable while orders arrive). */
    async list(options: { productId?: number; limit: number; after?: number }): Promise<OrderRow[]> {
      let query = db.selectFrom('orders').select(columns).orderBy('id').limit(options.limit)
      if (options.productId !== undefined) query = query.where('product_id', '=', options.productId)
      if (options.after !== undefined) query = query.where('id', '>', options.after)
      return (await query.execute()).map(toRow)
    },

    /** Every order of a product, for reconciliation and restoring Redis. */
    async ofProduct(productId: number): Promise<OrderRow[]> {
      const rows = await db.selectFrom('orders').select(columns).where('product_id', '=', productId).execute()
      return rows.map(toRow)
    },
  }
}

export type OrderStore = ReturnType<typeof createOrderStore>
