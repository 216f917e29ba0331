import { type DomainEventSink, noDomainEvents } from '../domain-events/types.ts'
import { type Db, transact } from '../infra/db/index.ts'

/** What `GET /api/banners` lists (API.md). */
export interface PublicBanner {
  id: number
  title: string
  image: string
  link: string
  order: number
}

/** A banner as admins see it. */
export interface Banner extends PublicBanner {
  shown: boolean
  createdAt: string
  updatedAt: string
}

export interface BannerInput {
  title: string
  image: string
  link?: string
  order?: number
  shown?: boolean
}

const columns = [
  'id',
  'title',
  'image',
  'link',
  'sort_order as order',
  'shown',
  'created_at as createdAt',
  'updated_at as updatedAt',
] as const

type Row = { id: number; shown: number } & Omit<Banner, 'id' | 'shown'>

const toBanner = (row: Row): Banner => ({ ...row, id: Number(row.id), shown: Number(row.shown) === 1 })

/** The SQL side of banners: the record the cache is filled from. */
export function createBannerStore(db: Db, events: DomainEventSink = noDomainEvents) {
  const changed = (bannerId: number, change: 'created' | 'updated' | 'deleted') => ({
    type: 'banner.changed' as const,
    data: { bannerId, change },
  })
  return {
    /** The public list: one statement, shown banners by order (then id, so equal orders stay stable). */
    async listShown(): Promise<PublicBanner[]> {
      const rows = await db
        .selectFrom('banners')
        .select(['id', 'title', 'image', 'link', 'sort_order as order'])
        .where('shown', '=', 1)
        .orderBy('sort_order')
        .orderBy('id')
        .execute()
      return rows.map((row) => ({ ...row, id: Number(row.id) }))
    },

    async listAll(): Promise<Banner[]> {
      const rows = await db
        .selectFrom('banners')
        .select(columns)
        .orderBy('sort_order')
        .orderBy('id')
        .execute()
      return rows.map(toBanner)
    },

    async get(id: number): Promise<Banner | undefined> {
      const row = await db.selectFrom('banners').select(columns).where('id', '=', id).executeTakeFirst()
      return row && toBanner(row)
    },

    async count(): Promise<number> {
      const row = await db
        .selectFrom('banners')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow()
      return Number(row.n)
    },

    /** Every write commits with its banner.changed event. */
    async insert(input: BannerInput): Promise<Banner> {
      const now = new Date().toISOString()
      return transact(db, async (trx) => {
        const row = await trx
          .insertInto('banners')
          .values({
            title: input.title,
            image: input.image,
            link: input.link ?? '',
            sort_order: input.order ?? 0,
            shown: input.shown === false ? 0 : 1,
            created_at: now,
            updated_at: now,
          })
          .returning(columns)
          .executeTakeFirstOrThrow()
        await events.publish(trx, changed(Number(row.id), 'created'))
        return toBanner(row)
      })
    },

    /** Changes the given fields only; undefined when the banner does not exist. */
    async update(id: number, patch: Partial<BannerInput>): Promise<Banner | undefined> {
      return transact(db, async (trx) => {
        const row = await trx
          .updateTable('banners')
          .set({
            title: patch.title,
            image: patch.image,
            link: patch.link,
            sort_order: patch.order,
            shown: patch.shown === undefined ? undefined : patch.shown ? 1 : 0,
            updated_at: new Date().toISOString(),
          })
          .where('id', '=', id)
          .returning(columns)
          .executeTakeFirst()
        if (row) await events.publish(trx, changed(id, 'updated'))
        return row && toBanner(row)
      })
    },

    async remove(id: number): Promise<boolean> {
      return transact(db, async (trx) => {
        const result = await trx.deleteFrom('banners').where('id', '=', id).executeTakeFirst()
        if (Number(result.numDeletedRows) === 0) return false
        await events.publish(trx, changed(id, 'deleted'))
        return true
      })
    },

    /** Several rows in one transaction (the demo seed). */
    async insertMany(inputs: BannerInput[]): Promise<void> {
      await transact(db, async (trx) => {
        const now = new Date().toISOString()
        const rows = await trx
          .insertInto('banners')
          .values(
            inputs.map((input) => ({
              title: input.title,
              image: input.image,
              link: input.link ?? '',
              sort_order: input.order ?? 0,
              shown: input.shown === false ? 0 : 1,
              created_at: now,
              updated_at: now,
            })),
          )
          .returning('id')
          .execute()
        await events.publish(
          trx,
          rows.map((row) => changed(Number(row.id), 'created')),
        )
      })
    },
  }
}

export type BannerStore = ReturnType<typeof createBannerStore>
