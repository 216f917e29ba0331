import { type Kysely, sql } from 'kysely'
import { isPostgres } from '../dialect.ts'

/**
 * Real gateways (issue 20): which gateway took each part under which message id (recorded as soon as the gateway
 * acknowledges it, so a retry or a fail-over never sends that part again), and its delivery receipt. The status
 * column grows for `delivered` / `undelivered`.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  if (isPostgres(db)) await sql`ALTER TABLE sms_messages ALTER COLUMN status TYPE varchar(16)`.execute(db)
  await db.schema.alterTable('sms_messages').addColumn('gateway', 'varchar(16)').execute()
  await db.schema
    .createTable('sms_gateway_parts')
    .addColumn('sms_id', 'varchar(36)', (c) => c.notNull())
    .addColumn('part', 'integer', (c) => c.notNull())
    .addColumn('gateway', 'varchar(16)', (c) => c.notNull())
    .addColumn('message_id', 'varchar(128)', (c) => c.notNull())
    // sent (accepted by the gateway) → delivered | undelivered, from its receipt.
    .addColumn('status', 'varchar(16)', (c) => c.notNull())
    .addColumn('error', 'text')
    .addColumn('sent_at', 'varchar(32)', (c) => c.notNull())
    .addColumn('reported_at', 'varchar(32)')
    .addPrimaryKeyConstraint('sms_gateway_parts_pk', ['sms_id', 'part'])
    .addUniqueConstraint('sms_gateway_parts_message_unique', ['gateway', 'message_id'])
    .execute()
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('sms_gateway_parts').execute()
  await db.schema.alterTable('sms_messages').dropColumn('gateway').execute()
}
