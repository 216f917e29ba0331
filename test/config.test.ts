import { execFileSync } from 'node:child_process'
import { describe, expect, it } from 'vitest'
import { ConfigError, loadConfig, redactUrl } from '../src/config.ts'
import { ensureBuilt } from './web/support.ts'

describe('config', () => {
  it('has working defaults for an empty environment', () => {
    const config = loadConfig({})
    expect(config.port).toBe(3000)
    expect(config.host).toBe('127.0.0.1')
    expect(config.grpcPort).toBe(50051)
    expect(config.redisUrl).toBeUndefined()
    expect(config.amqpUrl).toBeUndefined()
    expect(config.amqpQueueType).toBe('classic')
    expect(config.databaseUrl).toMatch(/\.data\/hotspot\.db$/)
    expect(config.sms.providers).toEqual(['outbox'])
    expect(config.keyPrefix).toBe('hs')
    expect(config.beatLockTtlMs).toBe(5000)
    // Under the 10 s in which every request is answered, even when PostgreSQL hangs (+1 s client-side query timeout).
    expect(config.databaseStatementTimeoutMs).toBe(5000)
    expect(config.requestTimeoutMs).toBe(9000)
    expect(config.redisCommandTimeoutMs).toBe(3000)
  })

  it("reads each feature's slice from the feature's own config.ts", () => {
    const config = loadConfig({
      COUNTERS_FLUSH_MS: '500',
      SECKILL_USER_LIMIT: '3',
      SMS_ALLOWED_COUNTRIES: '+86,852',
      VERIFICATION_TTL_SECONDS: '120',
      IHUYI_ACCOUNT: 'C1',
      IHUYI_PASSWORD: 'k',
      SMS_PROVIDER: 'ihuyi',
      HOTSPOT_TASK_QUEUE: 'mine',
      WORKER_SEND_EVENTS: 'true',
      SSE_MAX_CLIENTS_PER_ADDRESS: '0',
    })
    expect(config.counters).toEqual({ flushMs: 500, dedupeSeconds: 0, trendingHalfLifeHours: 6 })
    expect(config.seckill.userLimit).toBe(3)
    expect(config.sms.allowedCountries).toEqual(['86', '852'])
    expect(config.verification.ttlSeconds).toBe(120)
    expect([config.sms.providers, config.sms.gateways.ihuyi.account]).toEqual([['ihuyi'], 'C1'])
    expect([config.tasks.ownQueue, config.worker.queues, config.worker.sendEvents]).toEqual([
      'mine',
      ['celery', 'mine'],
      true,
    ])
    expect(config.sse).toEqual({ maxClients: 5000, maxClientsPerAddress: 0 })
  })

  it.each([
    [{ PORT: 'abc' }, 'PORT', 'whole number'],
    [{ PORT: '70000' }, 'PORT', 'between 0 and 65535'],
    [{ GRPC_PORT: '-1' }, 'GRPC_PORT', 'whole number'],
    [{ REDIS_URL: 'http://x' }, 'REDIS_URL', 'redis:'],
    [{ REDIS_URL: 'redis://a:1,nope' }, 'REDIS_URL', 'not a URL'],
    [{ AMQP_URL: 'redis://x' }, 'AMQP_URL', 'amqp:'],
    [{ AMQP_QUEUE_TYPE: 'stream' }, 'AMQP_QUEUE_TYPE', 'classic, quorum'],
    [{ DATABASE_URL: 'mysql://x/y' }, 'DATABASE_URL', 'postgres://'],
    [{ HOTSPOT_ADMIN_TOKEN: 'short' }, 'HOTSPOT_ADMIN_TOKEN', 'at least 16'],
    [{ SMS_PROVIDER: 'carrier-pigeon' }, 'SMS_PROVIDER', 'outbox'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL', 'one of'],
    [{ LOG_FORMAT: 'xml' }, 'LOG_FORMAT', 'pretty, json'],
    [{ HOTSPOT_KEY_PREFIX: 'a{b}' }, 'HOTSPOT_KEY_PREFIX', 'letters, digits'],
    [{ BEAT_LOCK_TTL_MS: '100' }, 'BEAT_LOCK_TTL_MS', 'between 1000'],
    [{ DATABASE_STATEMENT_TIMEOUT_MS: '-5' }, 'DATABASE_STATEMENT_TIMEOUT_MS', 'whole number'],
    [{ COUNTERS_FLUSH_MS: '10' }, 'COUNTERS_FLUSH_MS', 'between 50'],
    [{ SECKILL_SOLD_OUT_TRUST_MS: 'soon' }, 'SECKILL_SOLD_OUT_TRUST_MS', 'whole number'],
    [{ SMS_ALLOWED_COUNTRIES: '86,0' }, 'SMS_ALLOWED_COUNTRIES', 'country calling codes'],
    [{ VERIFICATION_SECRET: 'short' }, 'VERIFICATION_SECRET', 'at least 16'],
    [{ WORKER_QUEUES: 'a,b c' }, 'WORKER_QUEUES', 'not a valid queue name'],
    [{ WORKER_SEND_EVENTS: 'yes' }, 'WORKER_SEND_EVENTS', 'true, false'],
    [{ WORKER_NAME: 'a b' }, 'WORKER_NAME', 'node name'],
    [{ SSE_MAX_CLIENTS: '0' }, 'SSE_MAX_CLIENTS', 'between 1'],
  ])('rejects %o naming the variable', (env, variable, fragment) => {
    let error: unknown
    try {
      loadConfig(env)
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(ConfigError)
    expect((error as ConfigError).variable).toBe(variable)
    expect((error as ConfigError).message).toContain(variable)
    expect((error as ConfigError).message).toContain(fragment)
  })

  it('accepts a Redis Cluster list, an AMQP cluster list and PostgreSQL', () => {
    const config = loadConfig({
      REDIS_URL: 'redis://127.0.0.1:7000,redis://127.0.0.1:7001',
      AMQP_URL: 'amqp://u:p@a:5672/v,amqp://u:p@b:5672/v',
      DATABASE_URL: 'postgres://u@h/db',
    })
    expect(config.redisUrl).toContain(',')
    expect(config.databaseUrl).toBe('postgres://u@h/db')
  })

  it('hides the password of every URL of a cluster list', () => {
    expect(redactUrl('amqp://guest:secret@a:5672,amqp://guest:secret@b:5672')).toBe(
      'amqp://guest:***@a:5672,amqp://guest:***@b:5672',
    )
    expect(redactUrl('redis://a:6379,redis://b:6379')).toBe('redis://a:6379,redis://b:6379')
  })

  it.each([
    ['redis://:s3cret@h:6379', 'redis://:***@h:6379'],
    ['redis://default:s3cret@h:6379/2', 'redis://default:***@h:6379/2'],
    ['rediss://:s3cret@h:6380', 'rediss://:***@h:6380'],
    ['redis://:p@ss@w0rd@h:6379', 'redis://:***@h:6379'],
    ['redis://:pa,ss@a:1,redis://:pa,ss@b:2', 'redis://:***@a:1,redis://:***@b:2'],
    ['redis://:a@b,c@x:1, redis://:d,e@f@y:2', 'redis://:***@x:1,redis://:***@y:2'],
    ['redis://h:6379?password=s3cret&db=1', 'redis://h:6379?password=***&db=1'],
    ['postgres://u:s3cret@h/db?sslmode=require', 'postgres://u:***@h/db?sslmode=require'],
    ['postgresql://u@h/db?password=s3cret', 'postgresql://u@h/db?password=***'],
    [
      'postgres://h/db?sslpassword=s3cret&PWD=s3cret&api_key=s3cret',
      'postgres://h/db?sslpassword=***&PWD=***&api_key=***',
    ],
    ['amqps://u:s%40cret@h:5671/%2f?auth_mechanism=x', 'amqps://u:***@h:5671/%2f?auth_mechanism=***'],
    ['amqp://u:s3cret@h:5672?token=s3cret&heartbeat=10', 'amqp://u:***@h:5672?token=***&heartbeat=10'],
    ['redis://:s3cret/x@h:port', 'redis://***@h:port'],
    ['not a url ?secret=s3cret', 'not a url ?secret=***'],
    ['/var/lib/hotspot/hotspot.db', '/var/lib/hotspot/hotspot.db'],
    ['sqlite:data/hotspot.db', 'sqlite:data/hotspot.db'],
    ['redis://h:6379', 'redis://h:6379'],
  ])('redacts %s', (url, expected) => {
    const redacted = redactUrl(url)
    expect(redacted).toBe(expected)
    expect(redacted).not.toMatch(/s3cret|p@ss|pa,ss|s%40cret|w0rd/)
  })

  it('stops the process with one line naming the variable', async () => {
    // Built first: on a stale checkout bin/hotspot.js would say "building…" on stderr before the error line.
    await ensureBuilt()
    let stderr = ''
    let status = 0
    try {
      execFileSync(process.execPath, ['bin/hotspot.js', 'migrate'], {
        env: { ...process.env, PORT: 'eighty' },
        stdio: 'pipe',
      })
    } catch (error) {
      const e = error as { status: number; stderr: Buffer }
      status = e.status
      stderr = e.stderr.toString()
    }
    expect(status).toBe(2)
    expect(stderr.trim().split('\n')).toHaveLength(1)
    expect(stderr).toContain('PORT')
  })
})
