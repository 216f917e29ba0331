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
export function createBannerStore(db: Db) {
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

    async insert(input: BannerInput): Promise<Banner> {
      const now = new Date().toISOString()
      const row = await db
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
      return toBanner(row)
    },

    /** Changes the given fields only; undefined when the banner does not exist. */
    async update(id: number, patch: Partial<BannerInput>): Promise<Banner | undefined> {
      const row = await db
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
      return row && toBanner(row)
    },

    async remove(id: number): Promise<boolean> {
      const result = await db.deleteFrom('banners').where('id', '=', id).executeTakeFirst()
      return Number(result.numDeletedRows) > 0
    },

    /** Several rows in one transaction (the demo seed). */
    async insertMany(inputs: BannerInput[]): Promise<void> {
      await transact(db, async (trx) => {
        const now = new Date().toISOString()
        await trx
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
          .execute()
      })
    },
  }
}

export type BannerStore = ReturnType<typeof createBannerStore>
