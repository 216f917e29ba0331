/**
 * The composition root: the only place that knows every part. It builds the infrastructure clients, the task
 * system, then each feature with what it needs, and wires their routes and tasks. Roles (cli.ts) decide what
 * runs: HTTP, the worker, beat.
 */
import { Redis } from 'ioredis'
import type { Connection } from 'rabbitmq-client'
import { createBannersFeature } from './banners/index.ts'
import { createCacheFeature } from './cache/index.ts'
import { brokerIsRedis, type Config } from './config.ts'
import { createCountersFeature } from './counters/index.ts'
import { createDomainEventsFeature } from './domain-events/index.ts'
import type { Feature, FeatureContext } from './feature.ts'
import { createGrpcServer, type GrpcServer } from './grpc/server.ts'
import { createAmqp, pingAmqp } from './infra/amqp.ts'
import { makeAdminCheck } from './infra/auth.ts'
import { createDb, type Db, migrateToLatest, pingDb } from './infra/db/index.ts'
import { createHttp, type Http, registerDocs } from './infra/http.ts'
import type { Logger } from './infra/logger.ts'
import { createMetrics, type Metrics } from './infra/metrics.ts'
import { opsRoutes } from './infra/ops-routes.ts'
import { createPresence } from './infra/presence.ts'
import { createRedis, pingRedis, type RedisClient } from './infra/redis.ts'
import { redisMemoryMetrics } from './infra/redis-memory-metrics.ts'
import { waitForReplicas } from './infra/replica-wait.ts'
import { createSeckillFeature } from './seckill/index.ts'
import { createSmsFeature } from './sms/index.ts'
import { deploymentPhoneVault } from './sms/phone-vault.ts'
import { taskAdminRoutes } from './tasks/admin-routes.ts'
import { createRedisCeleryBus } from './tasks/broker/redis/fanout.ts'
import { createRedisBroker } from './tasks/broker/redis/transport.ts'
import { controlAdminRoutes } from './tasks/control/admin-routes.ts'
import { createTaskSystem, type TaskSystem } from './tasks/index.ts'
import { taskRoutes } from './tasks/routes.ts'
import { createVerificationFeature } from './verification/index.ts'
import { createWebFeature } from './web/index.ts'

export interface AppOptions {
  config: Config
  /** Resolved URLs (private servers already started when the config had none). */
  redisUrl: string
  /** Unset in a Redis-only deployment (BROKER_URL=redis://): then nothing connects to RabbitMQ. */
  amqpUrl: string | undefined
  adminToken: string
  log: Logger
  /** Over config's HOTSPOT_KEY_PREFIX: tests give each app its own, so they share one Redis. */
  keyPrefix?: string
  /** The database client, instead of one built from config's DATABASE_URL; the app destroys it on close. */
  database?: Db
  /** Leader lock lifetime of beat, over config's BEAT_LOCK_TTL_MS (tests shorten it to see a fail-over quickly). */
  beatLockTtlMs?: number
}

export type Role = 'api' | 'worker' | 'beat' | 'grpc'

export interface App {
  config: Config
  http: Http
  redis: RedisClient
  /** Absent in a Redis-only deployment (BROKER_URL=redis://, no AMQP_URL). */
  amqp: Connection | undefined
  db: Db
  metrics: Metrics
  tasks: TaskSystem
  counters: ReturnType<typeof createCountersFeature>['service']
  flusher: ReturnType<typeof createCountersFeature>['flusher']
  features: Feature[]
  /** The gRPC server (role `grpc`, on config.grpcPort; `grpc.port` is the bound one). */
  grpc: GrpcServer
  /** Migrates SQL and lets each feature rebuild what it keeps in Redis. */
  prepare(): Promise<void>
  /** Starts what the roles run: `api` = background loops of features, `worker`, `beat`, `grpc`. */
  start(roles: Role[]): Promise<void>
  close(): Promise<void>
}

export async function createApp(options: AppOptions): Promise<App> {
  const { config, log } = options
  const prefix = options.keyPrefix ?? config.keyPrefix
  const redis = createRedis(options.redisUrl, { log, commandTimeoutMs: config.redisCommandTimeoutMs })
  // Half the command timeout: WAIT answers (with too few replicas → 503) before the command itself times out.
  waitForReplicas(redis, config.redisWaitReplicas, Math.floor(config.redisCommandTimeoutMs / 2))
  const cacheRedis = config.cacheRedisUrl
    ? createRedis(config.cacheRedisUrl, { log, commandTimeoutMs: config.redisCommandTimeoutMs })
    : undefined
  const metrics = createMetrics()
  redisMemoryMetrics(metrics, { main: redis, ...(cacheRedis ? { cache: cacheRedis } : {}) })
  const amqp = options.amqpUrl ? createAmqp(options.amqpUrl, log) : undefined
  const db =
    options.database ??
    createDb(config.databaseUrl, {
      poolSize: config.databasePoolSize,
      statementTimeoutMs: config.databaseStatementTimeoutMs,
    })
  const admin = makeAdminCheck(options.adminToken)
  if (!amqp && !brokerIsRedis(config))
    throw new Error('no broker: set AMQP_URL (RabbitMQ) or BROKER_URL=redis://… (Redis)')
  // BROKER_URL=redis://…: tasks on kombu's Redis transport, over a connection of their own.
  const brokerClient = brokerIsRedis(config)
    ? createRedis(config.brokerUrl as string, { log, commandTimeoutMs: config.redisCommandTimeoutMs })
    : undefined
  const tasks = createTaskSystem({
    amqp,
    broker:
      brokerClient instanceof Redis
        ? createRedisBroker({
            client: brokerClient,
            log,
            visibilityTimeoutSeconds: config.brokerVisibilityTimeoutSeconds,
          })
        : undefined,
    bus: brokerClient instanceof Redis ? createRedisCeleryBus(brokerClient, log) : undefined,
    redis,
    log,
    metrics,
    prefix,
    queueType: config.amqpQueueType,
    queues: config.tasks,
    worker: config.worker,
    beat: { lockTtlMs: options.beatLockTtlMs ?? config.beatLockTtlMs },
  })

  const domainEvents = createDomainEventsFeature(
    { config, db, log, metrics },
    { amqp, brokerRedis: brokerClient instanceof Redis ? brokerClient : undefined },
  )
  const ctx: FeatureContext = {
    config,
    db,
    redis,
    cacheRedis,
    log,
    metrics,
    admin,
    prefix,
    tasks: { producer: tasks.producer, results: tasks.results, registry: tasks.registry },
    events: tasks.events,
    schedule: tasks.beat,
    domainEvents: domainEvents.events,
  }
  const counters = createCountersFeature(ctx)
  const seckill = createSeckillFeature(ctx)
  const banners = createBannersFeature(ctx)
  const cache = createCacheFeature(ctx)
  const sms = createSmsFeature(ctx)
  const verification = createVerificationFeature(ctx, { sms: sms.service })
  const web = createWebFeature(ctx, { seckill: seckill.service })
  const features: Feature[] = [
    counters.feature,
    seckill.feature,
    banners.feature,
    cache.feature,
    sms.feature,
    verification.feature,
    web.feature,
    domainEvents, // last: stops after the features whose facts it carries
  ]

  // /readyz and gRPC health: RabbitMQ only when it is used; the Redis broker when tasks travel on Redis.
  const checks: Record<string, () => Promise<boolean>> = { redis: () => pingRedis(redis) }
  if (amqp) checks.amqp = () => pingAmqp(amqp)
  if (tasks.broker.kind === 'redis') checks.broker = () => tasks.broker.ping()
  checks.db = () => pingDb(db)
  const http = createHttp({
    logger: log,
    bodyLimit: config.bodyLimit,
    metrics,
    limits: { handlerTimeoutMs: config.requestTimeoutMs, maxInFlight: config.maxInFlightRequests },
  })
  await registerDocs(http)
  opsRoutes(http, {
    metrics,
    metricsToken: config.metricsToken,
    checks,
  })
  taskRoutes(http, { producer: tasks.producer, results: tasks.results, admin })
  // Celery remote control from the admin UI, on the task broker (RabbitMQ, or kombu's Redis fanout).
  if (tasks.bus) controlAdminRoutes(http, { bus: tasks.bus, redis, prefix, admin, log })
  taskAdminRoutes(http, {
    broker: tasks.broker,
    producer: tasks.producer,
    metrics,
    admin,
    queues: [config.tasks.defaultQueue, config.tasks.ownQueue, ...config.worker.queues],
  })
  for (const feature of features) feature.routes?.(http)
  const grpc = createGrpcServer({
    counters: counters.service,
    producer: tasks.producer,
    results: tasks.results,
    isAdmin: admin.isAdmin,
    checks,
    log,
    metrics,
    shutdownGraceMs: config.shutdownGraceMs,
  })

  const presence = createPresence({ redis, prefix, log })
  const started = new Set<Role>()
  let closing: Promise<void> | undefined
  return {
    config,
    http,
    redis,
    amqp,
    db,
    metrics,
    tasks,
    counters: counters.service,
    flusher: counters.flusher,
    features,
    grpc,
    async prepare() {
      const { applied } = await migrateToLatest(db, {}, { phones: deploymentPhoneVault(config) })
      if (applied.length > 0) log.info({ applied }, 'SQL migrations applied')
      for (const feature of features) await feature.prepare?.()
    },
    async start(roles) {
      // Every process listens to broadcasts (cache invalidation reaches API processes and workers alike).
      await tasks.events.start()
      for (const role of roles) {
        if (started.has(role)) continue
        // A grpc-only process records views too: it runs the features' loops (the counters flush) like api.
        const loops = (role === 'api' || role === 'grpc') && !started.has('api') && !started.has('grpc')
        started.add(role)
        if (loops) for (const feature of features) feature.start?.()
        if (role === 'worker') {
          await tasks.worker.start()
          domainEvents.startDrain()
        }
        if (role === 'beat') tasks.beat.start()
        if (role === 'grpc') await grpc.start(config.grpcPort, config.host)
      }
      presence.start(roles)
    },
    close() {
      // Once: a second call (a second SIGTERM, a test's cleanup) waits for the first instead of closing twice.
      closing ??= (async () => {
        await presence.stop()
        await grpc.stop() // stop accepting calls, let open streams finish for the grace period
        await http.close() // stop accepting, let in-flight requests finish
        await tasks.worker.stop() // finish running handlers (their messages are acked)
        await tasks.beat.stop()
        for (const feature of features) await feature.stop?.() // final flushes
        await tasks.close()
        await amqp?.close()
        redis.disconnect()
        cacheRedis?.disconnect()
        await db.destroy()
      })()
      return closing
    },
  }
}
