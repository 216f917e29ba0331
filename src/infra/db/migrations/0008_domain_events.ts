import { type Kysely, sql } from 'kysely'
import { autoIdType, isPostgres } from '../dialect.ts'

/**
 * The transactional outbox of domain events (src/domain-events/): a fact's event is written in the transaction
 * that commits the fact, and the worker publishes it to the `hotspot.domain` exchange later.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('domain_event_outbox')
    .addColumn('seq', autoIdType(db), (c) =>
      isPostgres(db) ? c.primaryKey() : c.primaryKey().autoIncrement(),
    )
    // The event's id: consumers dedupe on it (a fact with a natural key gets the same id however often it is written).
    .addColumn('id', 'varchar(64)', (c) => c.notNull().unique())
    .addColumn('type', 'varchar(64)', (c) => c.notNull())
    .addColumn('time', 'varchar(32)', (c) => c.notNull())
    .addColumn('data', 'text', (c) => c.notNull())
    // Aggregated facts (item.viewed per item and second): processes add to one row while it is unclaimed.
    .addColumn('merge_key', 'varchar(128)', (c) => c.unique())
    .addColumn('tally', 'bigint', (c) => c.notNull().defaultTo(0))
    // Epoch ms before which the row is not taken: settle time, lease of a drainer, backoff after a failure.
    .addColumn('available_at', 'bigint', (c) => c.notNull())
    .addColumn('claimed_by', 'varchar(64)')
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('last_error', 'varchar(500)')
    // Set when the broker refused it `DOMAIN_EVENTS_MAX_ATTEMPTS` times: kept, not retried, counted in metrics.
    .addColumn('parked_at', 'varchar(32)')
    .execute()
  await db.schema
    .createIndex('domain_event_outbox_due')
    .on('domain_event_outbox')
    .columns(['available_at', 'seq'])
    .execute()
  // Orders placed per product, kept by the order's transaction: the one that takes the last unit says
  // product.sold_out (in O(1), and under the row's lock, so exactly one transaction sees sold = stock).
  await db.schema
    .alterTable('products')
    .addColumn('sold', 'integer', (c) => c.notNull().defaultTo(0))
    .execute()
  await sql`update products set sold = (select count(*) from orders where orders.product_id = products.id)`.execute(
    db,
  )
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('products').dropColumn('sold').execute()
  await db.schema.dropTable('domain_event_outbox').execute()
}
