import type { Kysely } from 'kysely'
import { autoIdType, isPostgres } from '../dialect.ts'

/** SMS: the accepted messages with their delivery state, and the outbox provider's delivered parts. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('sms_messages')
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('phone', 'varchar(16)', (c) => c.notNull())
    .addColumn('content', 'text', (c) => c.notNull())
    .addColumn('encoding', 'varchar(8)', (c) => c.notNull())
    .addColumn('segments', 'integer', (c) => c.notNull())
    // queued → sending → sent | failed; a retryable provider error goes back to queued.
    .addColumn('status', 'varchar(8)', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('error', 'text')
    // While `sending`: until when (epoch ms) the worker that claimed it owns it; a redelivery waits that long.
    .addColumn('lease_until', 'bigint')
    .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
    .addColumn('sent_at', 'varchar(32)')
    .execute()
  await db.schema
    .createTable('sms_outbox')
    .addColumn('id', autoIdType(db), (c) =>
      isPostgres(db) ? c.primaryKey() : c.primaryKey().autoIncrement(),
    )
    .addColumn('sms_id', 'varchar(36)', (c) => c.notNull())
    .addColumn('part', 'integer', (c) => c.notNull())
    .addColumn('phone', 'varchar(16)', (c) => c.notNull())
    .addColumn('body', 'text', (c) => c.notNull())
    .addColumn('delivered_at', 'varchar(32)', (c) => c.notNull())
    // A part is delivered once, whatever the number of deliveries of the task (idempotency key).
    .addUniqueConstraint('sms_outbox_sms_part_unique', ['sms_id', 'part'])
    .execute()
  await db.schema.createIndex('sms_outbox_phone_id').on('sms_outbox').columns(['phone', 'id']).execute()
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('sms_outbox').execute()
  await db.schema.dropTable('sms_messages').execute()
}
