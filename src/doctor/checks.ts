import { Migrator } from 'kysely'
import type { Connection } from 'rabbitmq-client'
import type { Config } from '../config.ts'
import type { Db } from '../infra/db/index.ts'
import { migrations } from '../infra/db/migrations/index.ts'
import { readPresence, skewAgainstRedis } from '../infra/presence.ts'
import type { RedisClient } from '../infra/redis.ts'
import { taskQueue } from '../tasks/topology.ts'

export interface CheckResult {
  name: string
  ok: boolean
  /** One plain sentence: what was found, or what is wrong and what to do. */
  detail: string
}

const MAX_CLOCK_SKEW_MS = 1000

export async function checkRedis(redis: RedisClient, isCluster: boolean): Promise<CheckResult[]> {
  const out: CheckResult[] = []
  const skew = Math.abs((await skewAgainstRedis(redis)).skew)
  out.push({
    name: 'clock',
    ok: skew <= MAX_CLOCK_SKEW_MS,
    detail:
      skew <= MAX_CLOCK_SKEW_MS
        ? `this machine's clock is within ${Math.round(skew)} ms of Redis`
        : `this machine's clock is ${Math.round(skew)} ms away from Redis: sync both with NTP (limits use Redis time, rankings the local day)`,
  })
  if (isCluster) {
    const info = String(await (redis as unknown as { cluster(s: 'INFO'): Promise<string> }).cluster('INFO'))
    const state = /cluster_state:(\w+)/.exec(info)?.[1]
    const slots = Number(/cluster_slots_ok:(\d+)/.exec(info)?.[1] ?? 0)
    out.push({
      name: 'redis cluster',
      ok: state === 'ok' && slots === 16384,
      detail:
        state === 'ok' && slots === 16384
          ? 'all 16384 slots are covered and the cluster state is ok'
          : `cluster state is ${state}, ${slots} of 16384 slots are served: add masters or fix failed nodes`,
    })
  } else {
    const persistence = await redis.info('persistence')
    const aof = /aof_enabled:1/.test(persistence)
    out.push({
      name: 'redis persistence',
      ok: aof,
      detail: aof
        ? 'AOF is on'
        : 'AOF is off: a Redis restart loses view counts and admissions not yet in SQL (set appendonly yes)',
    })
  }
  return out
}

/** A queue that exists with other arguments (say classic vs quorum) makes every declare fail with 406. */
export async function checkQueues(amqp: Connection, config: Config): Promise<CheckResult[]> {
  const out: CheckResult[] = []
  for (const name of new Set([config.tasks.defaultQueue, config.tasks.ownQueue, ...config.worker.queues])) {
    const channel = await amqp.acquire()
    try {
      await channel.queueDeclare({ queue: name, passive: true })
      await channel.queueDeclare(taskQueue(name, config.amqpQueueType, config.tasks.maxPriority).queue)
      out.push({ name: `queue ${name}`, ok: true, detail: 'declared as configured' })
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error)
      const missing = /NOT_FOUND/.test(message)
      out.push({
        name: `queue ${name}`,
        ok: missing,
        detail: missing
          ? 'does not exist yet (the first worker or producer declares it)'
          : `exists with other settings than AMQP_QUEUE_TYPE=${config.amqpQueueType} asks for: ${message}`,
      })
    } finally {
      await channel.close().catch(() => {})
    }
  }
  return out
}

export async function checkMigrations(db: Db): Promise<CheckResult> {
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => migrations },
    migrationTableName: 'hotspot_migrations',
    migrationLockTableName: 'hotspot_migrations_lock',
  })
  const pending = (await migrator.getMigrations())
    .filter((m) => m.executedAt === undefined)
    .map((m) => m.name)
  return {
    name: 'migrations',
    ok: pending.length === 0,
    detail: pending.length ? `not applied yet: ${pending.join(', ')} (run hotspot migrate)` : 'all applied',
  }
}

/** What stops working when no process of a role runs. */
const ROLE_DUTIES: Record<string, string> = {
  api: 'nothing answers HTTP and view counts are not written to SQL',
  worker: 'SMS are not delivered, flash-sale orders are not created, tasks pile up in the queues',
  beat: 'scheduled work (banner cache refresh, seckill reconciliation) never fires',
}

/**
 * Every process of the deployment (from their heartbeats in Redis): each one's clock against Redis, and whether
 * each role has at least one process running.
 */
export async function checkProcesses(redis: RedisClient, prefix: string): Promise<CheckResult[]> {
  const { processes } = await readPresence(redis, prefix)
  if (processes.length === 0) {
    return [
      {
        name: 'processes',
        ok: true,
        detail: 'no hotspot process has reported to this Redis in the last 30 s',
      },
    ]
  }
  const out: CheckResult[] = processes.map((p) => {
    const name = `process ${p.host}:${p.pid} (${p.roles.join(', ') || 'starting'})`
    const skew = Math.abs(p.clockSkewMs)
    const direction = p.clockSkewMs > 0 ? 'ahead of' : 'behind'
    return skew <= MAX_CLOCK_SKEW_MS
      ? { name, ok: true, detail: `up since ${p.startedAt}, clock within ${skew} ms of Redis` }
      : {
          name,
          ok: false,
          detail: `its clock is ${skew} ms ${direction} Redis: sync that machine with NTP (the day rankings use its date)`,
        }
  })
  for (const [role, duty] of Object.entries(ROLE_DUTIES)) {
    const count = processes.filter(
      (p) => p.roles.includes(role) || (role === 'api' && p.roles.includes('grpc')),
    ).length
    out.push(
      count > 0
        ? { name: `role ${role}`, ok: true, detail: `${count} process${count > 1 ? 'es' : ''} running` }
        : {
            name: `role ${role}`,
            ok: false,
            detail: `no process runs it: ${duty} (start \`hotspot ${role}\`)`,
          },
    )
  }
  return out
}
