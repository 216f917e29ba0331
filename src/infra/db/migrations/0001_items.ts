import type { Kysely } from 'kysely'
import { autoIdType, isPostgres } from '../dialect.ts'

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('items')
    .addColumn('id', autoIdType(db), (c) =>
      isPostgres(db) ? c.primaryKey() : c.primaryKey().autoIncrement(),
    )
    .addColumn('kind', 'varchar(16)', (c) => c.notNull())
    .addColumn('title', 'varchar(300)', (c) => c.notNull())
    .addColumn('body', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('views', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
    .execute()
  await db.schema.createIndex('items_kind_id').on('items').columns(['kind', 'id']).execute()
  await db.schema
    .createTable('item_views_daily')
    .addColumn('item_id', 'bigint', (c) => c.notNull())
    .addColumn('day', 'integer', (c) => c.notNull())
    .addColumn('views', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('item_views_daily_pk', ['item_id', 'day'])
    .execute()
  await db.schema
    .createTable('counter_flushes')
    .addColumn('batch_id', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('applied_at', 'varchar(32)', (c) => c.notNull())
    .execute()
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('counter_flushes').execute()
  await db.schema.dropTable('item_views_daily').execute()
  await db.schema.dropTable('items').execute()
}
