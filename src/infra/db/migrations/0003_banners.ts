import type { Kysely } from 'kysely'
import { autoIdType, isPostgres } from '../dialect.ts'

/** Home-page banners. `order` is a reserved word in SQL, so the column is `sort_order` (the API calls it `order`). */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('banners')
    .addColumn('id', autoIdType(db), (c) =>
      isPostgres(db) ? c.primaryKey() : c.primaryKey().autoIncrement(),
    )
    .addColumn('title', 'varchar(200)', (c) => c.notNull())
    .addColumn('image', 'varchar(2048)', (c) => c.notNull())
    .addColumn('link', 'varchar(2048)', (c) => c.notNull().defaultTo(''))
    .addColumn('sort_order', 'integer', (c) => c.notNull().defaultTo(0))
    // 0/1 rather than boolean: SQLite has none and better-sqlite3 cannot bind JavaScript booleans.
    .addColumn('shown', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
    .addColumn('updated_at', 'varchar(32)', (c) => c.notNull())
    .execute()
  // The public list: shown banners by order.
  await db.schema
    .createIndex('banners_shown_order')
    .on('banners')
    .columns(['shown', 'sort_order', 'id'])
    .execute()
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('banners').execute()
}
