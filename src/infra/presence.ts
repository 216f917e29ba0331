/**
 * Every hotspot process says it is alive: every few seconds it writes what it runs and how far its clock is from
 * Redis's into one hash. `hotspot doctor`, run on any machine, reads it to list the deployment's processes and to
 * check every process's clock, not only its own machine's (limits and windows use Redis time, the day and week
 * rankings each process's date: a process whose clock is off counts views into the wrong day near midnight).
 */
import { randomUUID } from 'node:crypto'
import os from 'node:os'
import type { Logger } from './logger.ts'
import type { RedisClient } from './redis.ts'

export interface ProcessInfo {
  host: string
  pid: number
  roles: string[]
  startedAt: string
  /** Redis time (ms) of the last heartbeat. */
  seenAt: number
  /** This process's clock minus Redis's at the last heartbeat (ms; positive = ahead). */
  clockSkewMs: number
}

/** One small hash for the whole deployment (one slot on a Cluster; it is written every few seconds, not hot). */
export const presenceKey = (prefix: string) => `${prefix}:processes`

/** Redis time in ms, and this process's clock minus it (halfway through the round trip). */
export async function skewAgainstRedis(redis: RedisClient): Promise<{ redisNow: number; skew: number }> {
  const before = Date.now()
  const [seconds, micros] = await redis.time()
  const after = Date.now()
  const redisNow = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000)
  return { redisNow, skew: Math.round((before + after) / 2 - redisNow) }
}

export function createPresence(options: {
  redis: RedisClient
  prefix: string
  log: Logger
  intervalMs?: number
}) {
  const { redis, log } = options
  const key = presenceKey(options.prefix)
  // Unique per app instance (a test process hosts several); the doctor shows host and pid.
  const field = `${os.hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`
  const startedAt = new Date().toISOString()
  const roles = new Set<string>()
  let timer: NodeJS.Timeout | undefined

  async function heartbeat(): Promise<void> {
    const { redisNow, skew } = await skewAgainstRedis(redis)
    const info: ProcessInfo = {
      host: os.hostname(),
      pid: process.pid,
      roles: [...roles],
      startedAt,
      seenAt: redisNow,
      clockSkewMs: skew,
    }
    await redis.hset(key, field, JSON.stringify(info))
  }

  const beat = () => {
    heartbeat().catch((error) => log.debug({ err: error }, 'presence heartbeat failed, will retry'))
  }

  return {
    /** Adds roles and (re)announces at once; heartbeats continue every intervalMs until stop(). */
    start(more: string[]): void {
      for (const role of more) roles.add(role)
      beat()
      if (!timer) {
        timer = setInterval(beat, options.intervalMs ?? 5000)
        timer.unref()
      }
    },
    /** Leaves the list at once, so the doctor does not report a cleanly stopped process as missing. */
    async stop(): Promise<void> {
      if (timer) clearInterval(timer)
      timer = undefined
      await redis.hdel(key, field).catch(() => {})
    },
  }
}

/**
 * The processes seen within `maxAgeMs` (by Redis time), each with its clock skew. Older entries (processes that
 * died without saying so) are removed on the way.
 */
export async function readPresence(
  redis: RedisClient,
  prefix: string,
  maxAgeMs = 30_000,
): Promise<{ processes: ProcessInfo[]; reader: { clockSkewMs: number } }> {
  const key = presenceKey(prefix)
  const [{ redisNow, skew }, all] = await Promise.all([skewAgainstRedis(redis), redis.hgetall(key)])
  const processes: ProcessInfo[] = []
  const gone: string[] = []
  for (const [field, json] of Object.entries(all)) {
    const info = JSON.parse(json) as ProcessInfo
    if (redisNow - info.seenAt > maxAgeMs) gone.push(field)
    else processes.push(info)
  }
  if (gone.length > 0) await redis.hdel(key, ...gone)
  processes.sort((a, b) => a.host.localeCompare(b.host) || a.pid - b.pid)
  return { processes, reader: { clockSkewMs: skew } }
}
