// Celery's per-task-type rate limits (Task.rate_limit, the `rate_limit` control command): per worker, a token
// bucket of capacity 1 (celery/worker/consumer: TokenBucket(rate, capacity=1)), so task starts of one type are at
// least 1/rate apart on each worker. Written by hand: it is four lines of arithmetic on a per-name timestamp.

/** Celery's rate(): `"100/m"`, `"2/h"`, `"0.5/s"`, `"10"` (per second) or a number → tasks per second; 0 = none. */
export function parseRate(value: unknown): number {
  if (value === null || value === undefined || value === '' || value === 0) return 0
  if (typeof value === 'number') {
    if (Number.isFinite(value) && value >= 0) return value
    throw new RangeError(`not a rate: ${value}`)
  }
  if (typeof value !== 'string') throw new RangeError('a rate is a string like "10/s" or a number')
  const [ops = '', unit = 's'] = value.split('/', 2)
  const n = Number(ops.trim())
  const per = { s: 1, m: 60, h: 3600 }[unit.trim() || 's']
  if (ops.trim() === '' || !Number.isFinite(n) || n < 0)
    throw new RangeError(`could not convert string to float: '${ops}'`)
  if (per === undefined) throw new RangeError(`unknown rate unit '${unit}' (s, m or h)`)
  return n / per
}

/** The buckets; a task's rate is read at each start (the control command changes it in the task's options). */
export function createRateLimiter() {
  const buckets = new Map<string, { rate: unknown; interval: number; next: number }>()
  return {
    /** Milliseconds this start of `name` must wait under `rate`; reserves its place in the bucket. */
    reserve(name: string, rate: unknown, now = Date.now()): number {
      let bucket = buckets.get(name)
      if (!bucket || bucket.rate !== rate) {
        // A changed rate gets a new bucket, as Celery's reset_rate_limits does.
        const perSecond = parseRate(rate)
        bucket = { rate, interval: perSecond > 0 ? 1000 / perSecond : 0, next: 0 }
        buckets.set(name, bucket)
      }
      if (bucket.interval === 0) return 0
      const at = Math.max(now, bucket.next)
      bucket.next = at + bucket.interval
      return at - now
    },
  }
}

export type RateLimiter = ReturnType<typeof createRateLimiter>
