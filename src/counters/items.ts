import type { Db } from '../infra/db/index.ts'

export type ItemKind = 'article' | 'video'

export interface ItemRow {
  id: number
  kind: ItemKind
  title: string
  body: string
  views: number
  createdAt: string
}

const columns = ['id', 'kind', 'title', 'body', 'views', 'created_at as createdAt'] as const

/** The SQL side of items: the record. Live counts come from Redis (see views.ts). */
export function createItemStore(db: Db) {
  return {
    async insert(input: { kind: ItemKind; title: string; body?: string }): Promise<ItemRow> {
      const createdAt = new Date().toISOString()
      const row = await db
        .insertInto('items')
        .values({ kind: input.kind, title: input.title, body: input.body ?? '', created_at: createdAt })
        .returning(columns)
        .executeTakeFirstOrThrow()
      return { ...row, id: Number(row.id), views: Number(row.views) }
    },

    async get(id: number): Promise<ItemRow | undefined> {
      const row = await db.selectFrom('items').select(columns).where('id', '=', id).executeTakeFirst()
      return row && { ...row, id: Number(row.id), views: Number(row.views) }
    },

    async remove(id: number): Promise<boolean> {
      const result = await db.deleteFrom('items').where('id', '=', id).executeTakeFirst()
      return Number(result.numDeletedRows) > 0
    },

    /** Newest first; the cursor is the last id seen, so pages stay stable while items are added. */
    async list(options: { kind?: ItemKind; limit: number; before?: number }): Promise<ItemRow[]> {
      let query = db.selectFrom('items').select(columns).orderBy('id', 'desc').limit(options.limit)
      if (options.kind) query = query.where('kind', '=', options.kind)
      if (options.before !== undefined) query = query.where('id', '<', options.before)
      const rows = await query.execute()
      return rows.map((row) => ({ ...row, id: Number(row.id), views: Number(row.views) }))
    },

    async titles(ids: number[]): Promise<Map<number, string>> {
      if (ids.length === 0) return new Map()
      const rows = await db.selectFrom('items').select(['id', 'title']).where('id', 'in', ids).execute()
      return new Map(rows.map((r) => [Number(r.id), r.title]))
    },

    /** Pages through every item (id ascending), for rebuilding Redis from SQL. */
    async *all(pageSize = 1000): AsyncGenerator<{ id: number; views: number }[]> {
      let after = 0
      for (;;) {
        const rows = await db
          .selectFrom('items')
          .select(['id', 'views'])
          .where('id', '>', after)
          .orderBy('id')
          .limit(pageSize)
          .execute()
        if (rows.length === 0) return
        yield rows.map((r) => ({ id: Number(r.id), views: Number(r.views) }))
        after = Number(rows[rows.length - 1]?.id)
      }
    },

    async dailyViews(days: number[]): Promise<{ itemId: number; day: number; views: number }[]> {
      const rows = await db
        .selectFrom('item_views_daily')
        .select(['item_id', 'day', 'views'])
        .where('day', 'in', days)
        .execute()
      return rows.map((r) => ({ itemId: Number(r.item_id), day: Number(r.day), views: Number(r.views) }))
    },
  }
}

export type ItemStore = ReturnType<typeof createItemStore>
