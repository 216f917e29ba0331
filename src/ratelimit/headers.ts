import type { Quota } from './limiter.ts'

/** The quota with the fewest units left: what a client must respect when several limits apply. */
export function tightest(quotas: readonly Quota[]): Quota | undefined {
  let best: Quota | undefined
  for (const q of quotas) if (!best || q.remaining < best.remaining) best = q
  return best
}

/**
 * The IETF `RateLimit-Limit` / `RateLimit-Remaining` / `RateLimit-Reset` fields (draft-ietf-httpapi-ratelimit-headers,
 * the form GitHub's and Upstash's clients read): the tightest limit, what is left of it, seconds until a unit frees.
 */
export function setRateLimitHeaders(
  reply: { header(name: string, value: string): unknown },
  quota?: Quota,
): void {
  if (!quota) return
  reply.header('ratelimit-limit', String(quota.limit))
  reply.header('ratelimit-remaining', String(Math.max(0, quota.remaining)))
  reply.header('ratelimit-reset', String(Math.max(0, Math.ceil(quota.resetMs / 1000))))
}
