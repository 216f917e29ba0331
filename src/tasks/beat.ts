import { randomUUID } from 'node:crypto'
import { Cron } from 'croner'
import { createLock } from '../infra/lock/index.ts'
import type { Logger } from '../infra/logger.ts'
import { callScript, type RedisClient } from '../infra/redis.ts'
import type { Schedule, ScheduleEntry, TaskProducer } from './types.ts'

export interface BeatOptions {
  redis: RedisClient
  producer: TaskProducer
  log: Logger
  prefix: string
  /** How long the leader lock lives without renewal: a standby takes over within about this long. */
  lockTtlMs?: number
  tickMs?: number
}

interface Planned {
  entry: ScheduleEntry
  nextAt: number
  cron: Cron | undefined
}

/**
 * The periodic scheduler. Any number of beats may run: they compete for a Redis lock (renewed while held), and
 * only the holder fires. Every firing is also claimed in Redis by (entry, scheduled time), so a tick is never
 * fired twice, even when the leader changes at that very moment.
 */
export function createBeat(options: BeatOptions): Schedule & {
  start(): void
  stop(): Promise<void>
  isLeader(): boolean
  entries(): ScheduleEntry[]
} {
  const { redis, producer, log, prefix } = options
  const lockTtlMs = options.lockTtlMs ?? 5000
  const tickMs = options.tickMs ?? Math.min(1000, lockTtlMs / 4)
  // Renewed in the background; `held()` turns false once a renewal is refused or overdue.
  const lock = createLock(redis, `${prefix}:beat:leader`, {
    ttlMs: lockTtlMs,
    renewEveryMs: tickMs,
    onLost: () => log.warn('beat lost its leader lock'),
  })
  const token = randomUUID()
  const planned: Planned[] = []
  let timer: NodeJS.Timeout | undefined
  let ticking: Promise<void> | undefined

  function nextAfter(p: Planned, now: number): number {
    if (p.cron) return p.cron.nextRun(new Date(now))?.getTime() ?? Number.POSITIVE_INFINITY
    const every = (p.entry.everySeconds as number) * 1000
    return Math.floor(now / every) * every + every
  }

  async function holdLock(): Promise<boolean> {
    if (lock.held()) return true
    const won = await lock.tryAcquire()
    if (won) {
      log.info('beat is the leader')
      // Plan from now on: ticks missed while nobody led are skipped, not fired late in a burst.
      for (const p of planned) p.nextAt = nextAfter(p, Date.now())
    }
    return won
  }

  async function fire(p: Planned, slot: number) {
    const claim = `${prefix}:beat:fired:${p.entry.name}:${slot}`
    // Claimed under the leader lock's own token: each tick names the holding that fired it.
    const owner = lock.token() ?? token
    if ((await redis.set(claim, owner, 'EX', 86_400, 'NX')) !== 'OK') return
    let taskId: string
    try {
      taskId = await producer.send(p.entry.task, p.entry.args, p.entry.kwargs, { queue: p.entry.queue })
    } catch (error) {
      // The tick was claimed but not sent: release the claim (if still ours) so this tick is fired again, by
      // us on the next tick or by whichever beat leads then, instead of being lost.
      await callScript(redis, 'releaseLock', [claim], [owner]).catch(() => 0)
      throw error
    }
    log.info({ entry: p.entry.name, task: p.entry.task, taskId }, 'beat fired')
  }

  async function tick() {
    if (!(await holdLock())) return
    const now = Date.now()
    for (const p of planned) {
      if (p.nextAt > now) continue
      const slot = p.nextAt
      try {
        await fire(p, slot)
        p.nextAt = nextAfter(p, now)
      } catch (error) {
        // Retried on the next tick (the slot stays due); one failing entry does not hold back the others.
        log.warn({ err: error, entry: p.entry.name }, 'beat could not fire, retrying on the next tick')
      }
    }
  }

  return {
    add(entry) {
      if (!entry.cron === !entry.everySeconds)
        throw new Error(`schedule ${entry.name}: give cron or everySeconds`)
      if (planned.some((p) => p.entry.name === entry.name))
        throw new Error(`schedule ${entry.name} added twice`)
      const cron = entry.cron ? new Cron(entry.cron, { timezone: 'UTC', paused: true }) : undefined
      const p: Planned = { entry, cron, nextAt: 0 }
      p.nextAt = nextAfter(p, Date.now())
      planned.push(p)
    },
    entries: () => planned.map((p) => p.entry),
    isLeader: () => lock.held(),
    start() {
      if (timer) return
      timer = setInterval(() => {
        if (ticking) return
        ticking = tick()
          .catch((error) => log.warn({ err: error }, 'beat tick failed'))
          .finally(() => {
            ticking = undefined
          })
      }, tickMs)
    },
    async stop() {
      clearInterval(timer)
      timer = undefined
      await ticking
      await lock.release()
    },
  }
}
