/**
 * `hotspot doctor`: checks a deployment and says in plain words what is wrong. It starts nothing: with no URL
 * set it looks for the private servers of a running hotspot.
 */
import { brokerIsRedis, type Config, redactUrl } from '../config.ts'
import { createAmqp, waitForAmqp } from '../infra/amqp.ts'
import { createDb } from '../infra/db/index.ts'
import { runningPrivateServers } from '../infra/local-servers.ts'
import { createLogger } from '../infra/logger.ts'
import { createRedis } from '../infra/redis.ts'
import { isSentinelUrl } from '../infra/sentinel-url.ts'
import { type CheckResult, checkMigrations, checkProcesses, checkQueues, checkRedis } from './checks.ts'
import { checkMemory } from './memory.ts'
import { checkSentinel } from './sentinel.ts'

async function attempt(name: string, fn: () => Promise<CheckResult | CheckResult[]>): Promise<CheckResult[]> {
  try {
    const result = await fn()
    return Array.isArray(result) ? result : [result]
  } catch (error) {
    return [{ name, ok: false, detail: error instanceof Error ? error.message : String(error) }]
  }
}

export async function runDoctor(config: Config, write: (line: string) => void): Promise<boolean> {
  const log = createLogger('silent')
  const local = runningPrivateServers(config.dataDir)
  const redisUrl = config.redisUrl ?? local?.redisUrl
  const redisBroker = brokerIsRedis(config)
  const amqpUrl = config.amqpUrl ?? (redisBroker ? undefined : (config.brokerUrl ?? local?.amqpUrl))
  const results: CheckResult[] = []

  if (!redisUrl) {
    results.push({
      name: 'redis',
      ok: false,
      detail: 'REDIS_URL is unset and no hotspot runs a private Redis here',
    })
  } else {
    const redis = createRedis(redisUrl, { log })
    const sentinel = isSentinelUrl(redisUrl)
    results.push(
      ...(await attempt('redis', async () => {
        await redis.ping()
        return [
          { name: 'redis', ok: true, detail: `reachable at ${redactUrl(redisUrl)}` },
          // A Sentinel URL lists sentinels with commas too: only a plain list means Cluster.
          ...(await checkRedis(redis, !sentinel && redisUrl.includes(','))),
          ...(await checkMemory(redis, 'state')),
          ...(await checkProcesses(redis, config.keyPrefix)),
        ]
      })),
    )
    if (sentinel) results.push(...(await attempt('sentinel', () => checkSentinel(redisUrl))))
    redis.disconnect()
  }
  if (config.cacheRedisUrl) {
    const cacheUrl = config.cacheRedisUrl
    const cache = createRedis(cacheUrl, { log })
    results.push(
      ...(await attempt('cache redis', async () => {
        await cache.ping()
        return [
          { name: 'cache redis', ok: true, detail: `reachable at ${redactUrl(cacheUrl)}` },
          ...(await checkMemory(cache, 'cache')),
        ]
      })),
    )
    cache.disconnect()
  }

  if (redisBroker) {
    const brokerUrl = config.brokerUrl as string
    const broker = createRedis(brokerUrl, { log })
    results.push(
      ...(await attempt('broker', async () => {
        await broker.ping()
        return {
          name: 'broker',
          ok: true,
          detail: `Redis broker (kombu transport) reachable at ${redactUrl(brokerUrl)}`,
        }
      })),
    )
    broker.disconnect()
  }

  if (!amqpUrl && redisBroker) {
    results.push({
      name: 'rabbitmq',
      ok: true,
      detail:
        'not needed: tasks, remote control and Celery events on the Redis broker (BROKER_URL), events bus on Redis pub/sub',
    })
  } else if (!amqpUrl) {
    results.push({
      name: 'rabbitmq',
      ok: false,
      detail: 'AMQP_URL is unset and no hotspot runs a private RabbitMQ here',
    })
  } else {
    const amqp = createAmqp(amqpUrl, log, 'hotspot doctor')
    results.push(
      ...(await attempt('rabbitmq', async () => {
        await waitForAmqp(amqp, 5000)
        return [
          { name: 'rabbitmq', ok: true, detail: `reachable at ${redactUrl(amqpUrl)}` },
          ...(await checkQueues(amqp, config)),
        ]
      })),
    )
    amqp.close().catch(() => {})
  }

  const db = createDb(config.databaseUrl)
  results.push(...(await attempt('database', () => checkMigrations(db))))
  await db.destroy()

  for (const r of results) write(`${r.ok ? 'ok     ' : 'PROBLEM'}  ${r.name}: ${r.detail}`)
  const problems = results.filter((r) => !r.ok).length
  write(problems ? `${problems} problem(s) found` : 'everything looks fine')
  return problems === 0
}
