import type { Kysely } from 'kysely'

/**
 * Sealed SMS text (issue 15 item 11): a verification code's SMS keeps only a masked `content`; the text to deliver
 * is `sealed` (AES-GCM, src/sms/sealed.ts) and erased once delivered. The outbox keeps the masked body and, as the
 * stand-in for the phone, the delivered text sealed.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('sms_messages').addColumn('sealed', 'text').execute()
  await db.schema.alterTable('sms_outbox').addColumn('sealed', 'text').execute()
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('sms_outbox').dropColumn('sealed').execute()
  await db.schema.alterTable('sms_messages').dropColumn('sealed').execute()
}
