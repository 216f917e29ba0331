import { type Kysely, type Migration, sql } from 'kysely'
import { isPostgres } from '../dialect.ts'

/** What converting stored phones needs (src/sms/phone-vault.ts; kept structural: infra does not import sms). */
export interface PhoneSealing {
  seal(smsId: string, phone: string): string
  lookup(phone: string): string
}

/** Rows converted per statement round. */
const PAGE = 500

/**
 * Phones at rest: `sms_messages.phone` and `sms_outbox.phone` hold the number sealed (AES-GCM), `phone_hash` its
 * keyed HMAC for lookups; the by-phone indexes move to `phone_hash`. Existing rows (a clear phone starts with
 * `+`, a sealed one with `v1.`) are converted here, so needs the deployment's key; an empty database needs none.
 */
export function phonesSealed(phones?: PhoneSealing): Migration {
  return {
    async up(db: Kysely<unknown>) {
      // Checked before any change: SQLite runs a migration outside a transaction, a half-done one would stay.
      if (!phones)
        for (const table of ['sms_messages', 'sms_outbox'] as const) {
          const { rows } =
            await sql`select 1 from ${sql.table(table)} where phone like ${'+%'} limit 1`.execute(db)
          if (rows.length > 0)
            throw new Error(`${table} holds phones in clear: converting them needs the phone key`)
        }
      for (const table of ['sms_messages', 'sms_outbox'] as const) {
        await db.schema.alterTable(table).addColumn('phone_hash', 'varchar(64)').execute()
        // A sealed phone is longer than varchar(16) (SQLite ignores the length).
        if (isPostgres(db))
          await sql`alter table ${sql.table(table)} alter column phone type text`.execute(db)
      }
      await db.schema.dropIndex('sms_messages_phone_created').execute()
      await db.schema
        .createIndex('sms_messages_phone_hash_created')
        .on('sms_messages')
        .columns(['phone_hash', 'created_at'])
        .execute()
      await db.schema.dropIndex('sms_outbox_phone_id').execute()
      await db.schema
        .createIndex('sms_outbox_phone_hash_id')
        .on('sms_outbox')
        .columns(['phone_hash', 'id'])
        .execute()
      await convert(db, 'sms_messages', 'id', phones)
      await convert(db, 'sms_outbox', 'sms_id', phones)
    },
    async down(db: Kysely<unknown>) {
      // Sealed phones cannot go back without the key: down keeps them and only restores the shape.
      await db.schema.dropIndex('sms_outbox_phone_hash_id').execute()
      await db.schema.createIndex('sms_outbox_phone_id').on('sms_outbox').columns(['phone', 'id']).execute()
      await db.schema.dropIndex('sms_messages_phone_hash_created').execute()
      await db.schema
        .createIndex('sms_messages_phone_created')
        .on('sms_messages')
        .columns(['phone', 'created_at'])
        .execute()
      for (const table of ['sms_outbox', 'sms_messages'] as const)
        await db.schema.alterTable(table).dropColumn('phone_hash').execute()
    },
  }
}

async function convert(
  db: Kysely<unknown>,
  table: 'sms_messages' | 'sms_outbox',
  smsIdColumn: 'id' | 'sms_id',
  phones: PhoneSealing | undefined,
) {
  for (;;) {
    const { rows } = await sql<{ row_id: string | number; sms_id: string; phone: string }>`
      select id as row_id, ${sql.ref(smsIdColumn)} as sms_id, phone from ${sql.table(table)}
      where phone like ${'+%'} limit ${PAGE}`.execute(db)
    if (rows.length === 0 || !phones) return
    for (const row of rows)
      await sql`update ${sql.table(table)} set phone = ${phones.seal(row.sms_id, row.phone)},
        phone_hash = ${phones.lookup(row.phone)} where id = ${row.row_id}`.execute(db)
  }
}
