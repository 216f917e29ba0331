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
import { tasksGrpcServices } from './grpc/tasks.ts'
import { createAmqp, pingAmqp } from './infra/amqp.ts'
import { makeAdminCheck } from './infra/auth.ts'
import { createDb, type Db, migrateToLatest, pingDb } from './infra/db/index.ts'
import { createHttp, type Http, registerDocs } from './infra/http.ts'
import { createLifecycle } from './infra/lifecycle.ts'
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
  /** More feature modules, after the built-in ones (docs/modules.md; a test adds one from its own folder). */
  features?: ((ctx: FeatureContext) => Feature)[]
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

/** What a part's start is told: the roles asked for, those this call adds, and whether the loops start now. */
interface RoleStart {
  roles: Role[]
  fresh: Role[]
  /** True once, for the first api or grpc role: a grpc-only process records views too (the counters flush). */
  loops: boolean
}

export async function createApp(options: AppOptions): Promise<App> {
  const { log } = options
  // Every part is added to the lifecycle as soon as it is built: it starts in that order and closes in reverse,
  // so nothing outlives what it uses, and a failure half-way through building still closes what was built.
  const lifecycle = createLifecycle<RoleStart>((part, err) =>
    log.error({ err, part }, 'closing %s failed', part),
  )
  try {
    return await buildApp(options, lifecycle)
  } catch (error) {
    await lifecycle.close().catch(() => {})
    throw error
  }
}

async function buildApp(
  options: AppOptions,
  lifecycle: ReturnType<typeof createLifecycle<RoleStart>>,
): Promise<App> {
  const { config, log } = options
  const prefix = options.keyPrefix ?? config.keyPrefix
  const db =
    options.database ??
    createDb(config.databaseUrl, {
      poolSize: config.databasePoolSize,
      statementTimeoutMs: config.databaseStatementTimeoutMs,
    })
  lifecycle.add({ name: 'sql', stop: () => db.destroy() })
  const redis = createRedis(options.redisUrl, { log, commandTimeoutMs: config.redisCommandTimeoutMs })
  lifecycle.add({ name: 'redis', stop: () => redis.disconnect() })
  // Half the command timeout: WAIT answers (with too few replicas → 503) before the command itself times out.
  waitForReplicas(redis, config.redisWaitReplicas, Math.floor(config.redisCommandTimeoutMs / 2))
  const cacheRedis = config.cacheRedisUrl
    ? createRedis(config.cacheRedisUrl, { log, commandTimeoutMs: config.redisCommandTimeoutMs })
    : undefined
  if (cacheRedis) lifecycle.add({ name: 'cache redis', stop: () => cacheRedis.disconnect() })
  const metrics = createMetrics()
  redisMemoryMetrics(metrics, { main: redis, ...(cacheRedis ? { cache: cacheRedis } : {}) })
  const admin = makeAdminCheck(options.adminToken)
  if (!options.amqpUrl && !brokerIsRedis(config))
    throw new Error('no broker: set AMQP_URL (RabbitMQ) or BROKER_URL=redis://… (Redis)')
  const amqp = options.amqpUrl ? createAmqp(options.amqpUrl, log) : undefined
  if (amqp) lifecycle.add({ name: 'amqp', stop: () => amqp.close() })
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
  // Every process listens to broadcasts (cache invalidation reaches API processes and workers alike).
  lifecycle.add({ name: 'tasks', start: () => tasks.events.start(), stop: () => tasks.close() })

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
  const sms = createSmsFeature(ctx)
  // The feature modules, in start order (they close in reverse). A new feature is one line here.
  const features: Feature[] = [
    counters.feature,
    seckill.feature,
    createBannersFeature(ctx).feature,
    createCacheFeature(ctx).feature,
    sms.feature,
    createVerificationFeature(ctx, { sms: sms.service }).feature,
    createWebFeature(ctx).feature,
    ...(options.features ?? []).map((create) => create(ctx)),
    domainEvents,
  ]
  // Domain events close after the features whose facts they carry (its part comes before theirs).
  lifecycle.add({ name: domainEvents.name, stop: () => domainEvents.stop?.() })
  for (const feature of features.filter((f) => f !== domainEvents))
    lifecycle.add({
      name: feature.name,
      start: ({ loops }) => {
        if (loops) feature.start?.()
      },
      stop: () => feature.stop?.(), // final flushes
    })
  lifecycle.add({
    name: 'beat',
    start: ({ fresh }) => {
      if (fresh.includes('beat')) tasks.beat.start()
    },
    stop: () => tasks.beat.stop(),
  })
  lifecycle.add({
    name: 'worker',
    start: async ({ fresh }) => {
      if (!fresh.includes('worker')) return
      await tasks.worker.start()
      domainEvents.startDrain()
    },
    stop: () => tasks.worker.stop(), // finish running handlers (their messages are acked)
  })

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
  // The CLI listens; closing stops accepting and lets in-flight requests finish.
  lifecycle.add({ name: 'http', stop: () => http.close() })
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
    services: [
      ...features.flatMap((feature) => (feature.grpc ? [feature.grpc] : [])),
      tasksGrpcServices({ producer: tasks.producer, results: tasks.results, isAdmin: admin.isAdmin }),
    ],
    checks,
    log,
    metrics,
    shutdownGraceMs: config.shutdownGraceMs,
  })
  lifecycle.add({
    name: 'grpc',
    start: async ({ fresh }) => {
      if (fresh.includes('grpc')) await grpc.start(config.grpcPort, config.host)
    },
    stop: () => grpc.stop(), // stop accepting calls, let open streams finish for the grace period
  })
  const presence = createPresence({ redis, prefix, log })
  lifecycle.add({
    name: 'presence',
    start: ({ roles }) => presence.start(roles),
    stop: () => presence.stop(),
  })

  const started = new Set<Role>()
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
      const own = Object.assign({}, ...features.map((feature) => feature.migrations ?? {}))
      const { applied } = await migrateToLatest(db, own, { phones: deploymentPhoneVault(config) })
      if (applied.length > 0) log.info({ applied }, 'SQL migrations applied')
      for (const feature of features) await feature.prepare?.()
    },
    async start(roles) {
      const loopsRan = started.has('api') || started.has('grpc')
      const fresh = roles.filter((role) => !started.has(role))
      for (const role of fresh) started.add(role)
      const loops = !loopsRan && (started.has('api') || started.has('grpc'))
      await lifecycle.start({ roles, fresh, loops })
    },
    // Once: a second call (a second SIGTERM, a test's cleanup) waits for the first instead of closing twice.
    close: () => lifecycle.close(),
  }
}
