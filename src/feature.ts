/**
 * The shape every feature module has, so the composition root (app.ts) can build, wire, start and stop them
 * the same way. A feature gets what it needs in `FeatureContext` and reaches another feature only through
 * that feature's service (passed in explicitly by app.ts). SQL migrations live in src/infra/db/migrations/.
 */
import type { Config } from './config.ts'
import type { DomainEventSink } from './domain-events/types.ts'
import type { AdminCheck } from './infra/auth.ts'
import type { Db } from './infra/db/index.ts'
import type { Http } from './infra/http.ts'
import type { Logger } from './infra/logger.ts'
import type { Metrics } from './infra/metrics.ts'
import type { RedisClient } from './infra/redis.ts'
import type { EventBus, Schedule, TaskProducer, TaskRegistry, TaskResults } from './tasks/types.ts'

export interface FeatureContext {
  config: Config
  db: Db
  redis: RedisClient
  /** CACHE_REDIS_URL's client when set: the cache's entries live there, all state stays on `redis`. */
  cacheRedis?: RedisClient
  log: Logger
  metrics: Metrics
  admin: AdminCheck
  /** Prefix of every Redis key this app writes (tests give each app its own). */
  prefix: string
  tasks: { producer: TaskProducer; results: TaskResults; registry: TaskRegistry }
  events: EventBus
  schedule: Schedule
  /** Domain events for other services: `publish(trx, fact)` in the transaction that commits the fact. */
  domainEvents: DomainEventSink
}

export interface Feature {
  name: string
  /** Registers the feature's HTTP routes. */
  routes?(http: Http): void
  /** After migrations, before serving: rebuild Redis state from SQL, seed demo data. */
  prepare?(): Promise<void>
  /** Background loops of the `api` role (flushes, …). */
  start?(): void
  stop?(): Promise<void>
}
