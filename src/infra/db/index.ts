import fs from 'node:fs'
import path from 'node:path'
import SQLite from 'better-sqlite3'
import { Kysely, type Migration, Migrator, PostgresDialect, SqliteDialect, sql } from 'kysely'
import pg from 'pg'
import { type MigrationContext, migrationsFor } from './migrations/index.ts'
import type { Database } from './schema.ts'

export { transact } from './transaction.ts'
export type { Database }
export type Db = Kysely<Database>

// PostgreSQL returns bigint (int8) as a string to protect precision; our counters stay far below 2^53.
pg.types.setTypeParser(20, (value) => Number(value))

/**
 * `postgres://…` → PostgreSQL; anything else is a SQLite file path (or `sqlite:path`). To see or shape every
 * statement, add a Kysely plugin to the result (`db.withPlugin(…)`, as the tests' SQL probe does).
 */
export function createDb(url: string, options: { poolSize?: number; statementTimeoutMs?: number } = {}): Db {
  if (/^postgres(ql)?:\/\//.test(url)) {
    // statement_timeout is sent at connect time: a runaway query (a lock wait, a bad plan) is cancelled by the server
    // (error 57014 → 503) instead of holding a pooled connection until every request queues behind it.
    const timeout = options.statementTimeoutMs ?? 10_000
    const pool = new pg.Pool({
      connectionString: url,
      max: options.poolSize ?? 10,
      // A server that hangs (stopped, a dead network path) never answers: give up on connecting or waiting for a
      // pooled connection after 3 s, and on a query 1 s past the server's own statement timeout (→ 503).
      connectionTimeoutMillis: 3000,
      keepAlive: true,
      ...(timeout > 0 ? { statement_timeout: timeout, query_timeout: timeout + 1000 } : {}),
    })
    // An idle client whose server went away (restart, fail-over) is reported on the pool; with no listener Node
    // would crash the process. The pool drops that client, and queries report their own errors (→ 503).
    pool.on('error', () => {})
    return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) })
  }
  const file = url.replace(/^sqlite:(\/\/)?/, '')
  if (file !== ':memory:') fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true })
  const database = new SQLite(file)
  // WAL lets the API read while the flush writes; busy_timeout rides out a second process's write lock.
  database.pragma('journal_mode = WAL')
  database.pragma('busy_timeout = 5000')
  database.pragma('synchronous = NORMAL')
  return new Kysely<Database>({ dialect: new SqliteDialect({ database }) })
}

export async function migrateToLatest(
  db: Db,
  extra: Record<string, Migration> = {},
  context: MigrationContext = {},
): Promise<{ applied: string[] }> {
  const all = { ...migrationsFor(context), ...extra }
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => all },
    migrationTableName: 'hotspot_migrations',
    migrationLockTableName: 'hotspot_migrations_lock',
  })
  const { error, results } = await migrator.migrateToLatest()
  if (error) throw error
  return { applied: (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName) }
}

export async function pingDb(db: Db): Promise<boolean> {
  try {
    await sql`select 1`.execute(db)
    return true
  } catch {
    return false
  }
}
