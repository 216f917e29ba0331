import type { Kysely } from 'kysely'
import { autoIdType, isPostgres } from '../dialect.ts'

/** Flash sale: products (the stock is loaded into Redis) and orders, one per user and product. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('products')
    .addColumn('id', autoIdType(db), (c) =>
      isPostgres(db) ? c.primaryKey() : c.primaryKey().autoIncrement(),
    )
    .addColumn('name', 'varchar(200)', (c) => c.notNull())
    .addColumn('stock', 'integer', (c) => c.notNull())
    .addColumn('price', 'numeric(14, 2)', (c) => c.notNull().defaultTo(0))
    .addColumn('starts_at', 'varchar(32)')
    .addColumn('ends_at', 'varchar(32)')
    .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
    .execute()
  await db.schema
    .createTable('orders')
    .addColumn('id', autoIdType(db), (c) =>
      isPostgres(db) ? c.primaryKey() : c.primaryKey().autoIncrement(),
    )
    .addColumn('product_id', 'bigint', (c) => c.notNull().references('products.id'))
    .addColumn('user_id', 'varchar(128)', (c) => c.notNull())
    // The admission (and first task) id: reconciliation re-sends a missing order under it.
    .addColumn('admission_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
    // At most one order per user and product, whatever the number of deliveries of the order task.
    .addUniqueConstraint('orders_product_user_unique', ['product_id', 'user_id'])
    .execute()
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('orders').execute()
  await db.schema.dropTable('products').execute()
}
