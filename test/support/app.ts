import { randomUUID } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import pg from 'pg'
import type { Connection } from 'rabbitmq-client'
import { inject } from 'vitest'
import { type App, type AppOptions, createApp } from '../../src/app.ts'
import { loadConfig } from '../../src/config.ts'
import { createDb } from '../../src/infra/db/index.ts'
import { createLogger } from '../../src/infra/logger.ts'
import { probed, type SqlProbe } from './sql-probe.ts'

export type DbKind = 'sqlite' | 'postgres'

/** True in the cluster profile (test/support/cluster-setup.ts): Redis Cluster, RabbitMQ cluster, PostgreSQL. */
export const onCluster = inject('cluster') === true

/**
 * The SQL engines to run DB-touching tests against: SQLite always, PostgreSQL when the setup started one. The
 * cluster profile runs PostgreSQL only (a deployment across machines has no SQLite; `npm test` covers it).
 */
export const dbKinds: DbKind[] = onCluster
  ? ['postgres']
  : inject('postgresUrl')
    ? ['sqlite', 'postgres']
    : ['sqlite']

export const ADMIN_TOKEN = 'test-admin-token-0123456789'

/** A fresh database: a temp SQLite file, or a new PostgreSQL database on the shared test cluster. */
export async function freshDatabaseUrl(kind: DbKind): Promise<string> {
  if (kind === 'sqlite') {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hotspot-db-'))
    return path.join(dir, 'test.db')
  }
  const base = inject('postgresUrl')
  if (!base) throw new Error('PostgreSQL is not running in this test run')
  const name = `t_${randomUUID().replaceAll('-', '')}`
  const client = new pg.Client({ connectionString: base })
  await client.connect()
  await client.query(`CREATE DATABASE ${name}`)
  await client.end()
  return base.replace(/\/[^/]*$/, `/${name}`)
}

/** `amqp` is always there: a test app gets the shared RabbitMQ (tests of the Redis-only mode pass amqpUrl undefined). */
export interface TestApp extends Omit<App, 'amqp'> {
  amqp: Connection
  prefix: string
  auth: { authorization: string }
  queries: string[]
  /** The app's database goes through this: it records statements and can fail or pause them. */
  sql: SqlProbe
}

/** A real app on the shared test servers, isolated by its own key prefix and its own database. */
export async function startTestApp(
  options: {
    db?: DbKind
    env?: Record<string, string>
    redisUrl?: string
    /** Use this database instead of a fresh one (two apps on one database = two processes of one deployment). */
    databaseUrl?: string
  } & Partial<AppOptions> = {},
): Promise<TestApp> {
  const databaseUrl = options.databaseUrl ?? (await freshDatabaseUrl(options.db ?? 'sqlite'))
  const prefix = options.keyPrefix ?? `t${randomUUID().slice(0, 8)}`
  // Queues of their own too: test files run in parallel on one broker, and a worker of one test app must not
  // take another's tasks (it would not know them).
  const config = loadConfig({
    DATABASE_URL: databaseUrl,
    LOG_LEVEL: 'silent',
    CELERY_DEFAULT_QUEUE: `${prefix}.celery`,
    HOTSPOT_TASK_QUEUE: `${prefix}.hotspot`,
    // On a RabbitMQ cluster hotspot's queues are quorum queues (replicated): that is what the profile proves.
    ...(onCluster ? { AMQP_QUEUE_TYPE: 'quorum' } : {}),
    ...options.env,
  })
  const { db, probe } = probed(
    createDb(config.databaseUrl, {
      poolSize: config.databasePoolSize,
      statementTimeoutMs: config.databaseStatementTimeoutMs,
    }),
  )
  const app = await createApp({
    config,
    redisUrl: options.redisUrl ?? inject('redisUrl'),
    amqpUrl: inject('amqpUrl'),
    adminToken: ADMIN_TOKEN,
    log: createLogger(process.env.TEST_LOG_LEVEL ?? 'silent'),
    keyPrefix: prefix,
    database: db,
    ...options,
  })
  await app.prepare()
  return Object.assign(app, {
    prefix,
    auth: { authorization: `Bearer ${ADMIN_TOKEN}` },
    queries: probe.queries,
    sql: probe,
  }) as TestApp
}
