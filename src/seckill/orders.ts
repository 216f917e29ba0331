import type { Db } from '../infra/db/index.ts'

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
export function createOrderStore(db: Db) {
  return {
    /**
     * Idempotent: a second delivery of the same order (or a re-sent one) finds the first order instead of
     * making another. Returns the order's id either way.
     */
    async place(input: { productId: number; userId: string; admissionId: string }): Promise<number> {
      const inserted = await db
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
      if (inserted) return Number(inserted.id)
      const existing = await db
        .selectFrom('orders')
        .select('id')
        .where('product_id', '=', input.productId)
        .where('user_id', '=', input.userId)
        .executeTakeFirstOrThrow()
      return Number(existing.id)
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
