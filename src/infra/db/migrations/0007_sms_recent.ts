import type { Kysely } from 'kysely'

/** The admin SMS list reads the newest messages, of all phones or of one: both without scanning the table. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createIndex('sms_messages_created')
    .on('sms_messages')
    .columns(['created_at', 'id'])
    .execute()
  await db.schema
    .createIndex('sms_messages_phone_created')
    .on('sms_messages')
    .columns(['phone', 'created_at'])
    .execute()
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('sms_messages_phone_created').execute()
  await db.schema.dropIndex('sms_messages_created').execute()
}
