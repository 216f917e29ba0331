/**
 * The composition root: the only place that knows every part. It builds the infrastructure clients, then each
 * feature with what it needs, and wires their routes. Roles (cli.ts) decide what to start.
 */
import type { Connection } from 'rabbitmq-client'
import type { Config } from './config.ts'
import { createFlusher, type FlushHooks } from './counters/flush.ts'
import { countersRoutes } from './counters/routes.ts'
import { createCountersService } from './counters/service.ts'
import { createAmqp } from './infra/amqp.ts'
import { makeAdminCheck } from './infra/auth.ts'
import { createDb, type Db, migrateToLatest, pingDb } from './infra/db/index.ts'
import { createHttp, type Http, registerDocs } from './infra/http.ts'
import type { Logger } from './infra/logger.ts'
import { createMetrics, type Metrics } from './infra/metrics.ts'
import { opsRoutes } from './infra/ops-routes.ts'
import { createRedis, loadScripts, pingRedis, type RedisClient } from './infra/redis.ts'

export interface AppOptions {
  config: Config
  /** Resolved URLs (private servers already started when the config had none). */
  redisUrl: string
  amqpUrl: string
  adminToken: string
  log: Logger
  /** Prefix of every Redis key: lets tests share one Redis without seeing each other. */
  keyPrefix?: string
  flushHooks?: FlushHooks
  /** Sees every SQL statement (tests count queries with it). */
  onQuery?: (sql: string) => void
}

export interface App {
  http: Http
  redis: RedisClient
  amqp: Connection
  db: Db
  metrics: Metrics
  counters: ReturnType<typeof createCountersService>
  flusher: ReturnType<typeof createFlusher>
  /** Migrates SQL and makes sure Redis has what it needs (rebuilt from SQL if it lost it). */
  prepare(): Promise<void>
  /** Starts background loops (view flush). */
  startBackground(): void
  close(): Promise<void>
}

export async function createApp(options: AppOptions): Promise<App> {
  const { config, log } = options
  const prefix = options.keyPrefix ?? 'hs'
  const metrics = createMetrics()
  const redis = createRedis(options.redisUrl, { log })
  loadScripts(redis, new URL('./counters/', import.meta.url))
  const amqp = createAmqp(options.amqpUrl, log)
  const db = createDb(config.databaseUrl, { onQuery: options.onQuery })
  const admin = makeAdminCheck(options.adminToken)

  const counters = createCountersService({ db, redis, prefix, log })
  const flusher = createFlusher({ db, redis, prefix, log, hooks: options.flushHooks })

  const http = createHttp({ logger: log, bodyLimit: config.bodyLimit, metrics })
  await registerDocs(http)
  opsRoutes(http, {
    metrics,
    checks: {
      redis: () => pingRedis(redis),
      amqp: async () => amqp.ready,
      db: () => pingDb(db),
    },
  })
  countersRoutes(http, { counters, admin })

  let flushLoop: { stop(): Promise<void> } | undefined

  return {
    http,
    redis,
    amqp,
    db,
    metrics,
    counters,
    flusher,
    async prepare() {
      const { applied } = await migrateToLatest(db)
      if (applied.length > 0) log.info({ applied }, 'SQL migrations applied')
      await counters.rebuild()
    },
    startBackground() {
      flushLoop ??= flusher.start(config.countersFlushMs)
    },
    async close() {
      await http.close()
      await flushLoop?.stop()
      await amqp.close()
      redis.disconnect()
      await db.destroy()
    },
  }
}
