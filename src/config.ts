import path from 'node:path'
import { type BannersConfig, loadBannersConfig } from './banners/config.ts'
import { type CacheConfig, loadCacheConfig } from './cache/config.ts'
import { type CountersConfig, loadCountersConfig } from './counters/config.ts'
import { type DomainEventsConfig, loadDomainEventsConfig } from './domain-events/config.ts'
import { isSentinelUrl, parseSentinelUrl } from './infra/sentinel-url.ts'
import { loadSeckillConfig, type SeckillConfig } from './seckill/config.ts'
import { loadSmsConfig, type SmsConfig } from './sms/config.ts'
import { loadTasksConfig, type TasksConfig, type WorkerConfig } from './tasks/config.ts'
import { loadVerificationConfig, type VerificationConfig } from './verification/config.ts'
import { loadSseConfig, type SseConfig } from './web/config.ts'

/** Everything hotspot can be told through the environment, validated once at start. */
export interface Config {
  port: number
  host: string
  grpcPort: number
  /** Unset: hotspot starts a private redis-server under `dataDir`. Several comma-separated URLs mean Cluster. */
  redisUrl: string | undefined
  /** The cache's entries on a Redis of their own (where allkeys-lfu is right); unset: on REDIS_URL's. */
  cacheRedisUrl: string | undefined
  /** Unset: hotspot starts a private RabbitMQ node under `dataDir`. Several comma-separated URLs: fail over. */
  amqpUrl: string | undefined
  amqpQueueType: 'classic' | 'quorum'
  /**
   * The task broker when it is not AMQP_URL: `amqp://…`, or `redis://…` for kombu's Redis transport (as Celery's
   * `broker_url=redis://`; one server: kombu has no Redis Cluster support).
   */
  brokerUrl: string | undefined
  /** Redis broker: kombu's `visibility_timeout`, s (an unacked message older than this is delivered again). */
  brokerVisibilityTimeoutSeconds: number
  /** A Redis command unanswered this long fails (→ 503), so a hung Redis never hangs a request. */
  redisCommandTimeoutMs: number
  /** Replicas that must acknowledge a state write (Redis WAIT) before hotspot answers; 0 = asynchronous. */
  redisWaitReplicas: number
  /** Prefix of every Redis key (Celery's result keys excepted): deployments sharing one Redis keep apart. */
  keyPrefix: string
  /** `postgres://…` or a SQLite file path / `sqlite:` URL. */
  databaseUrl: string
  /** PostgreSQL connections each process keeps (size the server's max_connections for processes × this). */
  databasePoolSize: number
  /** PostgreSQL: the server cancels any statement running longer (0 = no limit). */
  databaseStatementTimeoutMs: number
  /** An HTTP request not answered within this gets 503 (a hung backing server never hangs a client). */
  requestTimeoutMs: number
  /** HTTP requests in progress at once; past it new ones get 503 at once (load shedding). */
  maxInFlightRequests: number
  /** Unset: generated on first start and stored in `dataDir/admin-token`. */
  adminToken: string | undefined
  /** Set: `GET /metrics` needs `Authorization: Bearer <it>`; unset: open (a scraper on a private network). */
  metricsToken: string | undefined
  dataDir: string
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'
  /** Unset: pretty when stdout is a terminal, JSON otherwise (see chooseLogFormat). */
  logFormat: 'pretty' | 'json' | undefined
  /** Max body size in bytes (API.md: 64 KiB → 413). */
  bodyLimit: number
  /** Seconds `stop` waits for in-flight work before closing connections. */
  shutdownGraceMs: number
  /** Lifetime of beat's leader lock: a standby beat takes over within it when the leader dies. */
  beatLockTtlMs: number
  tasks: TasksConfig
  counters: CountersConfig
  banners: BannersConfig
  seckill: SeckillConfig
  sms: SmsConfig
  verification: VerificationConfig
  domainEvents: DomainEventsConfig
  cache: CacheConfig
  worker: WorkerConfig
  sse: SseConfig
}

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    problem: string,
  ) {
    super(`${variable}: ${problem}`)
    this.name = 'ConfigError'
  }
}

/** Environment variables; a feature's config slice (its config.ts) reads them with the helpers below. */
export type Env = Record<string, string | undefined>

/** A variable's trimmed value; undefined when unset or empty. */
export function text(env: Env, name: string): string | undefined {
  const value = env[name]?.trim()
  return value === '' ? undefined : value
}

export function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = text(env, name)
  if (raw === undefined) return fallback
  if (!/^\d+$/.test(raw)) throw new ConfigError(name, `must be a whole number, got "${raw}"`)
  const value = Number(raw)
  if (value < min || value > max)
    throw new ConfigError(name, `must be between ${min} and ${max}, got ${value}`)
  return value
}

/** One of `allowed`; `fallback` when unset (undefined: the caller decides later, e.g. LOG_FORMAT by TTY). */
function oneOf<T extends string, F extends T | undefined>(
  env: Env,
  name: string,
  allowed: readonly T[],
  fallback: F,
): T | F {
  const raw = text(env, name)
  if (raw === undefined) return fallback
  if (!(allowed as readonly string[]).includes(raw)) {
    throw new ConfigError(name, `must be one of ${allowed.join(', ')}, got "${raw}"`)
  }
  return raw as T
}

/** A `true` / `false` variable; `fallback` when unset. */
export function flag(env: Env, name: string, fallback: boolean): boolean {
  return oneOf(env, name, ['true', 'false'] as const, fallback ? 'true' : 'false') === 'true'
}

function urlList(env: Env, name: string, schemes: readonly string[]): string | undefined {
  const raw = text(env, name)
  if (raw === undefined) return undefined
  if (name.endsWith('REDIS_URL') && isSentinelUrl(raw)) {
    try {
      parseSentinelUrl(raw)
    } catch (error) {
      throw new ConfigError(name, `${redactUrl(raw)}: ${(error as Error).message}`)
    }
    return raw
  }
  for (const part of splitUrlList(raw)) {
    let url: URL
    try {
      url = new URL(part)
    } catch {
      throw new ConfigError(name, `"${redactUrl(part)}" is not a URL`)
    }
    if (!schemes.includes(url.protocol)) {
      throw new ConfigError(name, `must start with ${schemes.join(' or ')}, got "${url.protocol}"`)
    }
  }
  return raw
}

function brokerUrl(env: Env): string | undefined {
  const raw = urlList(env, 'BROKER_URL', ['amqp:', 'amqps:', 'redis:', 'rediss:'])
  if (raw && /^rediss?:/.test(raw) && splitUrlList(raw).length > 1)
    throw new ConfigError('BROKER_URL', 'a Redis broker is one server (kombu does not support Redis Cluster)')
  return raw
}

/** True when tasks travel on Redis (kombu's Redis transport) rather than RabbitMQ. */
export const brokerIsRedis = (config: Pick<Config, 'brokerUrl'>) => /^rediss?:/.test(config.brokerUrl ?? '')

function databaseUrl(env: Env, dataDir: string): string {
  const raw = text(env, 'DATABASE_URL')
  if (raw === undefined) return path.join(dataDir, 'hotspot.db')
  if (/^postgres(ql)?:\/\//.test(raw)) {
    try {
      new URL(raw)
    } catch {
      throw new ConfigError('DATABASE_URL', 'is not a valid postgres:// URL')
    }
    return raw
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(raw) && !raw.startsWith('sqlite:')) {
    throw new ConfigError('DATABASE_URL', 'must be postgres://…, sqlite:… or a file path')
  }
  return raw
}

/**
 * Splits a comma-separated URL list (cluster nodes) only where the next URL starts (`,scheme://`), so a raw
 * `,` inside a password does not cut a URL in two.
 */
export function splitUrlList(raw: string): string[] {
  return raw
    .split(/,(?=\s*[a-z][a-z0-9+.-]*:\/\/)/i)
    .map((u) => u.trim())
    .filter(Boolean)
}

/** Query parameters that carry secrets (`?password=`, `sslpassword`, `token`, `api_key`, …). */
const SECRET_PARAM = /pass|pwd|secret|token|key|auth|credential|signature/i
const MASK = '***'

/** Hides every password and secret-looking query parameter of a URL or URL list, so it can be logged. */
export function redactUrl(value: string): string {
  return splitUrlList(value).map(redactOneUrl).join(',')
}

function redactOneUrl(raw: string): string {
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    // Not parseable (a file path, a typo): mask everything between `scheme://` and the last `@`, and every
    // secret-looking `name=value`, rather than guess where a password ends.
    return raw
      .replace(/^([a-z][a-z0-9+.-]*:\/\/)(.*)@/i, `$1${MASK}@`)
      .replace(/([?&;][^=&;#]*=)([^&;#]*)/g, (all, name: string) =>
        SECRET_PARAM.test(name) ? `${name}${MASK}` : all,
      )
  }
  if (url.password) url.password = MASK
  for (const name of [...new Set(url.searchParams.keys())]) {
    if (SECRET_PARAM.test(name)) url.searchParams.set(name, MASK)
  }
  return url.href
}

/**
 * REDIS_WAIT_REPLICAS: WAIT runs on the connection that wrote, which one node or Sentinel gives; a Redis Cluster
 * client spreads commands over many connections, so there it would wait on the wrong one and is refused.
 */
function waitReplicas(env: Env): number {
  const replicas = integer(env, 'REDIS_WAIT_REPLICAS', 0, 0, 16)
  const url = text(env, 'REDIS_URL')
  if (replicas > 0 && url !== undefined && !isSentinelUrl(url) && splitUrlList(url).length > 1)
    throw new ConfigError(
      'REDIS_WAIT_REPLICAS',
      'works on a single Redis or through Sentinel, not on a Redis Cluster',
    )
  return replicas
}

function keyPrefix(env: Env): string {
  const prefix = text(env, 'HOTSPOT_KEY_PREFIX') ?? 'hs'
  // No braces: Redis Cluster would take a {…} in the prefix as every key's hash tag (all keys on one slot).
  if (!/^[A-Za-z0-9_.:-]{1,64}$/.test(prefix))
    throw new ConfigError('HOTSPOT_KEY_PREFIX', `must be 1 to 64 letters, digits or _ . : -, got "${prefix}"`)
  return prefix
}

export function loadConfig(env: Env = process.env): Config {
  const dataDir = path.resolve(text(env, 'HOTSPOT_DATA_DIR') ?? '.data')
  const adminToken = text(env, 'HOTSPOT_ADMIN_TOKEN')
  if (adminToken !== undefined && adminToken.length < 16) {
    throw new ConfigError('HOTSPOT_ADMIN_TOKEN', 'must be at least 16 characters')
  }
  const metricsToken = text(env, 'METRICS_TOKEN')
  if (metricsToken !== undefined && metricsToken.length < 16) {
    throw new ConfigError('METRICS_TOKEN', 'must be at least 16 characters')
  }
  return {
    port: integer(env, 'PORT', 3000, 0, 65535),
    host: text(env, 'HOST') ?? '127.0.0.1',
    grpcPort: integer(env, 'GRPC_PORT', 50051, 0, 65535),
    redisUrl: urlList(env, 'REDIS_URL', ['redis:', 'rediss:']),
    cacheRedisUrl: urlList(env, 'CACHE_REDIS_URL', ['redis:', 'rediss:']),
    amqpUrl: urlList(env, 'AMQP_URL', ['amqp:', 'amqps:']),
    amqpQueueType: oneOf(env, 'AMQP_QUEUE_TYPE', ['classic', 'quorum'] as const, 'classic'),
    brokerUrl: brokerUrl(env),
    brokerVisibilityTimeoutSeconds: integer(env, 'BROKER_VISIBILITY_TIMEOUT', 3600, 1, 30 * 86_400),
    redisCommandTimeoutMs: integer(env, 'REDIS_COMMAND_TIMEOUT_MS', 3000, 100, 60_000),
    redisWaitReplicas: waitReplicas(env),
    keyPrefix: keyPrefix(env),
    databaseUrl: databaseUrl(env, dataDir),
    databasePoolSize: integer(env, 'DATABASE_POOL_SIZE', 10, 1, 1000),
    databaseStatementTimeoutMs: integer(env, 'DATABASE_STATEMENT_TIMEOUT_MS', 5000, 0, 3_600_000),
    requestTimeoutMs: integer(env, 'REQUEST_TIMEOUT_MS', 9000, 100, 600_000),
    maxInFlightRequests: integer(env, 'MAX_IN_FLIGHT_REQUESTS', 2000, 1, 1_000_000),
    adminToken,
    metricsToken,
    dataDir,
    logLevel: oneOf(
      env,
      'LOG_LEVEL',
      ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const,
      'info',
    ),
    logFormat: oneOf(env, 'LOG_FORMAT', ['pretty', 'json'] as const, undefined),
    bodyLimit: 64 * 1024,
    shutdownGraceMs: integer(env, 'SHUTDOWN_GRACE_MS', 5000, 0, 600_000),
    beatLockTtlMs: integer(env, 'BEAT_LOCK_TTL_MS', 5000, 1000, 600_000),
    ...loadTasksConfig(env),
    counters: loadCountersConfig(env),
    banners: loadBannersConfig(env),
    seckill: loadSeckillConfig(env),
    sms: loadSmsConfig(env),
    verification: loadVerificationConfig(env),
    domainEvents: loadDomainEventsConfig(env),
    cache: loadCacheConfig(env),
    sse: loadSseConfig(env),
  }
}
