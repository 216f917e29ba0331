import type { Metrics } from '../infra/metrics.ts'
import type { RedisClient } from '../infra/redis.ts'
import { createLimiter, type Quota, tightest } from '../ratelimit/index.ts'

export interface BuyLimits {
  /** Attempts per user (any product) and per client address within `limitWindowSeconds`; 0 = no limit. */
  userLimit: number
  ipLimit: number
  limitWindowSeconds: number
}

export type LimitVerdict = ({ allowed: true } | { allowed: false; retryAfterMs: number }) & { quota?: Quota }

/**
 * Per-user and per-address limits on buy attempts (exact sliding windows, src/ratelimit), so a bot can flood
 * the route neither with one user id from many addresses nor with many user ids from one address. Every
 * attempt counts, admitted or not.
 */
export function createBuyLimiter(redis: RedisClient, prefix: string, limits: BuyLimits, metrics?: Metrics) {
  // Buy attempts are never given back, so refused buyers can be refused from memory (a bot costs no Redis call).
  // No WAIT per attempt: the admission itself is replicated (its buyer set refuses a second buy), so a limit slot
  // lost in a fail-over only lets a user try once more; the WAIT would halve the attempt rate (bench replicas).
  const limiter = createLimiter(redis, `${prefix}:rl`, {
    name: 'seckill',
    metrics,
    blockRefused: true,
    replicated: false,
  })
  const windowMs = limits.limitWindowSeconds * 1000
  const take = (subject: string, limit: number) =>
    limit > 0 ? limiter.take(subject, { limit, windowMs }) : ({ allowed: true } as const)

  return async function checkBuyLimits(userId: string, ip: string): Promise<LimitVerdict> {
    const [user, address] = await Promise.all([
      take(`sk-user:${userId}`, limits.userLimit),
      take(`sk-ip:${ip}`, limits.ipLimit),
    ])
    const waits = [user, address].flatMap((d) => (d.allowed ? [] : [d.retryAfterMs]))
    const quota = tightest([user, address].flatMap((d) => ('remaining' in d ? [d] : [])))
    return waits.length === 0
      ? { allowed: true, quota }
      : { allowed: false, retryAfterMs: Math.max(...waits), quota }
  }
}

export type CheckBuyLimits = ReturnType<typeof createBuyLimiter>
