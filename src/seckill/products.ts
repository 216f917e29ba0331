import type { Db } from '../infra/db/index.ts'

export interface ProductRow {
  id: number
  name: string
  stock: number
  price: number
  startsAt: string | null
  endsAt: string | null
  createdAt: string
}

const columns = [
  'id',
  'name',
  'stock',
  'price',
  'starts_at as startsAt',
  'ends_at as endsAt',
  'created_at as createdAt',
] as const

// PostgreSQL returns bigint ids as numbers (see infra/db) but numeric prices as strings.
const toRow = (row: Omit<ProductRow, 'price'> & { price: number | string }): ProductRow => ({
  ...row,
  id: Number(row.id),
  stock: Number(row.stock),
  price: Number(row.price),
})

/** The SQL record of products. What is left of the stock lives in Redis (admission.ts). */
export function createProductStore(db: Db) {
  return {
    async insert(input: Omit<ProductRow, 'id' | 'createdAt'>): Promise<ProductRow> {
      const row = await db
        .insertInto('products')
        .values({
          name: input.name,
          stock: input.stock,
          price: input.price,
          starts_at: input.startsAt,
          ends_at: input.endsAt,
          created_at: new Date().toISOString(),
        })
        .returning(columns)
        .executeTakeFirstOrThrow()
      return toRow(row)
    },

    async get(id: number): Promise<ProductRow | undefined> {
      const row = await db.selectFrom('products').select(columns).where('id', '=', id).executeTakeFirst()
      return row && toRow(row)
    },

    /** Pages through products (id ascending); `endedAfter` keeps only sales open then or later. */
    async *all(options: { endedAfter?: string; pageSize?: number } = {}): AsyncGenerator<ProductRow[]> {
      let after = 0
      for (;;) {
        let query = db
          .selectFrom('products')
          .select(columns)
          .where('id', '>', after)
          .orderBy('id')
          .limit(options.pageSize ?? 500)
        const since = options.endedAfter
        if (since !== undefined)
          query = query.where((eb) => eb.or([eb('ends_at', 'is', null), eb('ends_at', '>=', since)]))
        const rows = await query.execute()
        if (rows.length === 0) return
        yield rows.map(toRow)
        after = Number(rows[rows.length - 1]?.id)
      }
    },
  }
}

export type ProductStore = ReturnType<typeof createProductStore>
