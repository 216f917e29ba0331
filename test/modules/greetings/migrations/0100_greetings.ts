import type { Kysely } from 'kysely'

/** The example module's own table: a module owns its tables and their migrations. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('greetings')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('count', 'integer', (c) => c.notNull())
    .execute()
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('greetings').execute()
}
