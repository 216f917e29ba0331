import { sql } from 'kysely'
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
    async *all(pageSize = 1000): AsyncGenerator<{ id: number; kind: ItemKind; views: number }[]> {
      let after = 0
      for (;;) {
        const rows = await db
          .selectFrom('items')
          .select(['id', 'kind', 'views'])
          .where('id', '>', after)
          .orderBy('id')
          .limit(pageSize)
          .execute()
        if (rows.length === 0) return
        yield rows.map((r) => ({ id: Number(r.id), kind: r.kind, views: Number(r.views) }))
        after = Number(rows[rows.length - 1]?.id)
      }
    },

    /** The most viewed items over days first..last (inclusive), from the per-day totals: past periods. */
    async rankedBetween(
      first: number,
      last: number,
      page: { kind?: ItemKind; limit: number; offset: number },
    ): Promise<{ id: number; title: string; views: number }[]> {
      const total = sql<number | string>`sum(d.views)`
      let query = db
        .selectFrom('item_views_daily as d')
        .innerJoin('items as i', 'i.id', 'd.item_id')
        .select(['d.item_id as id', 'i.title as title', total.as('views')])
        .where('d.day', '>=', first)
        .where('d.day', '<=', last)
        .groupBy(['d.item_id', 'i.title'])
        .orderBy(total, 'desc')
        .orderBy('d.item_id')
        .limit(page.limit)
        .offset(page.offset)
      if (page.kind) query = query.where('i.kind', '=', page.kind)
      const rows = await query.execute()
      return rows.map((r) => ({ id: Number(r.id), title: r.title, views: Number(r.views) }))
    },

    /** An item's place over days first..last: 1 + the items with more views (ties share a place). */
    async rankBetween(id: number, first: number, last: number) {
      const totals = db
        .selectFrom('item_views_daily as d')
        .innerJoin('items as i', 'i.id', 'd.item_id')
        .select(['d.item_id', sql<number | string>`sum(d.views)`.as('views')])
        .where('d.day', '>=', first)
        .where('d.day', '<=', last)
        .groupBy('d.item_id')
        .having(sql`sum(d.views)`, '>', 0)
      const own = await db
        .selectFrom(totals.as('t'))
        .select('t.views')
        .where('t.item_id', '=', id)
        .executeTakeFirst()
      const counted = await db
        .selectFrom(totals.as('t'))
        .select([
          sql<number | string>`count(*)`.as('of'),
          sql<number | string>`sum(case when t.views > ${Number(own?.views ?? 0)} then 1 else 0 end)`.as(
            'ahead',
          ),
        ])
        .executeTakeFirstOrThrow()
      const of = Number(counted.of)
      if (!own) return { rank: null, views: 0, of }
      return { rank: 1 + Number(counted.ahead ?? 0), views: Number(own.views), of }
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
