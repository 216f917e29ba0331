/**
 * Exact sliding-window rate limits in Redis, for any subject (a phone, a user, an IP, a route). One Lua call per
 * decision, time from the Redis server, all-or-nothing admission of a weighted request, and a `release` that
 * gives a reservation back when the work it paid for could not go ahead. Fails closed: when Redis cannot
 * answer, `take` throws `unavailable` (503), it never lets a request through unlimited.
 */
import { randomBytes } from 'node:crypto'
import { unavailable } from '../errors.ts'
import type { Metrics } from '../infra/metrics.ts'
import { callScript, loadScripts, type RedisClient } from '../infra/redis.ts'
import { replicated } from '../infra/replica-wait.ts'
import { limiterKey } from './keys.ts'
import { createRefusalBlock } from './refusal-block.ts'

export interface Rule {
  /** Units (e.g. SMS segments) allowed within any window of `windowMs`. */
  limit: number
  windowMs: number
}

/** One rule (`limit`, `windowMs`) or several checked together (`rules`: e.g. 1/min and 5/hour and 10/day). */
export type TakeOptions = (Rule | { rules: Rule[] }) & {
  /** Units this request costs (default 1, at most 1000); admitted whole or not at all. */
  weight?: number
}

/** Where the subject stands under its tightest rule: what the IETF `RateLimit-*` headers tell a client. */
export interface Quota {
  /** The limit of the rule with the fewest units left (the refusing rule when refused). */
  limit: number
  /** Units left under that rule after this decision. */
  remaining: number
  /** Ms until that rule's oldest unit in the window leaves (one more unit free); 0 when none is taken. */
  resetMs: number
}

export type Decision = Quota &
  (
    | {
        allowed: true
        /** Hand it to `release` to give the units back. */
        id: string
      }
    | {
        allowed: false
        /** Ms until the request would fit under every rule; Infinity when its weight is above a rule's limit. */
        retryAfterMs: number
        /** Index of the rule that made it wait longest. */
        rule: number
      }
  )

export interface Limiter {
  take(subject: string, options: TakeOptions): Promise<Decision>
  /** The decision `take` would make now, taking nothing (an allowed peek's `id` is empty). */
  peek(subject: string, options: TakeOptions): Promise<Decision>
  /**
   * Gives a reservation's units back (the publish it paid for failed). Safe to call twice. Not on a limiter
   * with `blockRefused` (it throws): units leaving early would make another process's block refuse too much.
   */
  release(subject: string, id: string): Promise<void>
  /** Forgets everything taken for the subject. */
  reset(subject: string): Promise<void>
}

const MAX_WEIGHT = 1000
const SCRIPT = 'slidingWindowTake'

// Reservation tokens: unique across processes (random part) and calls (counter), cheaper than a UUID per call.
const PROCESS_TOKEN = randomBytes(6).toString('base64url')
let sequence = 0

/** Whole seconds to tell a client (`Retry-After`, `retryAfter`): rounded up, at least 1. */
export function retryAfterSeconds(ms: number): number {
  return Number.isFinite(ms) ? Math.max(1, Math.ceil(ms / 1000)) : Number.MAX_SAFE_INTEGER
}

function checkedRules(options: TakeOptions): Rule[] {
  const rules = 'rules' in options ? options.rules : [{ limit: options.limit, windowMs: options.windowMs }]
  if (rules.length === 0) throw new RangeError('a limit needs at least one rule')
  for (const { limit, windowMs } of rules) {
    if (!Number.isSafeInteger(limit) || limit < 1) throw new RangeError(`limit must be ≥ 1, got ${limit}`)
    if (!Number.isSafeInteger(windowMs) || windowMs < 1)
      throw new RangeError(`windowMs must be ≥ 1, got ${windowMs}`)
  }
  return rules
}

/** `<ms>:<token>`, as the script writes units into the log. */
const RESERVATION_ID = /^\d{13}:[A-Za-z0-9_-]+$/

/**
 * `prefix` namespaces the keys (e.g. `hs:rl`); a subject's log is `<prefix>:{<subject>}`, hash-tagged so the
 * script runs on one Cluster slot. Subjects should name their kind: `sms:+8613812345678`, `ip:10.0.0.1`.
 */
export function createLimiter(
  redis: RedisClient,
  prefix: string,
  options: {
    name?: string
    metrics?: Metrics
    /** False: a take never waits for REDIS_WAIT_REPLICAS (a limit whose loss in a fail-over costs nothing). */
    replicated?: boolean
    /**
     * Refuse a subject Redis just refused from process memory until its window frees a unit (refusal-block.ts):
     * a hammering client costs no Redis call, the decisions stay exact. Only for limiters that never `release`.
     */
    blockRefused?: boolean
  } = {},
): Limiter {
  // Several features build limiters on one client: register the script once.
  if (typeof (redis as unknown as Record<string, unknown>)[SCRIPT] !== 'function')
    loadScripts(redis, new URL('./', import.meta.url))
  const decisions = options.metrics ? decisionCounter(options.metrics) : undefined
  const heldCounter = options.metrics && options.blockRefused ? blockedCounter(options.metrics) : undefined
  const name = options.name ?? prefix
  const block = options.blockRefused ? createRefusalBlock() : undefined
  const blockKey = (subject: string, rules: Rule[]) =>
    `${subject}\n${rules.map((r) => `${r.limit}/${r.windowMs}`).join(',')}`

  async function decide(subject: string, takeOptions: TakeOptions, peek: boolean): Promise<Decision> {
    const rules = checkedRules(takeOptions)
    const weight = takeOptions.weight ?? 1
    if (!Number.isSafeInteger(weight) || weight < 1 || weight > MAX_WEIGHT)
      throw new RangeError(`weight must be between 1 and ${MAX_WEIGHT}, got ${weight}`)
    const held = block?.check(blockKey(subject, rules), weight)
    if (held) {
      if (!peek) {
        decisions?.labels(name, 'limited').inc()
        heldCounter?.labels(name).inc()
      }
      return held
    }
    const token = peek ? '' : `${PROCESS_TOKEN}${(++sequence).toString(36)}`
    const args: (string | number)[] = [token, weight]
    // The log keeps as many units as the rule with the longest window allows (older ones count for none).
    let keep = rules[0] as Rule
    for (const rule of rules) {
      args.push(rule.limit, rule.windowMs)
      if (rule.windowMs > keep.windowMs || (rule.windowMs === keep.windowMs && rule.limit > keep.limit))
        keep = rule
    }
    args.push(keep.limit)
    let reply: number[]
    const sentAt = performance.now()
    try {
      reply = await callScript<number[]>(redis, SCRIPT, [limiterKey(prefix, subject)], args)
      if (!peek && options.replicated !== false) await replicated(redis)
    } catch (error) {
      throw unavailable('Redis (rate limiter)', error)
    }
    const [admitted, retry = 0, rule = 0, limit = 0, remaining = 0, resetMs = 0] = reply
    const quota = { limit, remaining, resetMs }
    if (!peek) decisions?.labels(name, admitted === 1 ? 'allowed' : 'limited').inc()
    // Admitted: `retry` holds the time the units were logged at; the id is their value in the log.
    if (admitted === 1) return { allowed: true, id: peek ? '' : `${retry}:${token}`, ...quota }
    const refusal = {
      allowed: false as const,
      retryAfterMs: retry < 0 ? Number.POSITIVE_INFINITY : retry,
      rule,
      ...quota,
    }
    block?.remember(blockKey(subject, rules), weight, refusal, sentAt)
    return refusal
  }

  return {
    take: (subject, takeOptions) => decide(subject, takeOptions, false),
    peek: (subject, takeOptions) => decide(subject, takeOptions, true),

    async release(subject, id) {
      if (block) throw new TypeError(`limiter ${name} blocks refused subjects: it cannot release units early`)
      if (!RESERVATION_ID.test(id)) throw new RangeError('not a reservation id')
      try {
        await redis.lrem(limiterKey(prefix, subject), 0, id)
      } catch (error) {
        throw unavailable('Redis (rate limiter)', error)
      }
    },

    async reset(subject) {
      await redis.del(limiterKey(prefix, subject))
      // This process's blocks only: reset is for tests and operators, not for the request path.
      block?.forget(`${subject}\n`)
    },
  }
}

const METRIC = 'hotspot_rate_limit_decisions_total'
const BLOCKED_METRIC = 'hotspot_rate_limit_blocked_total'

/** Refusals answered from a limiter's in-process block (no Redis call); they are in the decisions too. */
function blockedCounter(metrics: Metrics) {
  const existing = metrics.registry.getSingleMetric(BLOCKED_METRIC)
  if (existing) return existing as ReturnType<typeof make>
  return make()
  function make() {
    return metrics.counter(BLOCKED_METRIC, 'Refusals answered from process memory, by limiter', ['limiter'])
  }
}

/** One counter per metrics registry, shared by every limiter of the app. */
function decisionCounter(metrics: Metrics) {
  const existing = metrics.registry.getSingleMetric(METRIC)
  if (existing) return existing as ReturnType<typeof make>
  return make()
  function make() {
    return metrics.counter(METRIC, 'Rate-limit decisions by limiter and outcome', ['limiter', 'decision'])
  }
}
