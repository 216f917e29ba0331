import { type Kysely, PostgresAdapter } from 'kysely'

/** SQLite vs PostgreSQL differences stay in src/infra/db: callers ask here instead of sniffing URLs. */
export function isPostgres(db: Pick<Kysely<unknown>, 'getExecutor'>): boolean {
  return db.getExecutor().adapter instanceof PostgresAdapter
}

/** An auto-incrementing integer primary key in either dialect. */
export function autoIdType(db: Kysely<unknown>) {
  return isPostgres(db) ? ('bigserial' as const) : ('integer' as const)
}
