import { randomBytes } from 'node:crypto'
import { callScript, loadScripts, type RedisClient } from '../redis.ts'

// Hand-written rather than redis-semaphore: that library puts no timeout on its Redis calls, and a renewal stuck
// on a hung server leaves its holder believing it still holds a lock that has long expired.

export interface LockOptions {
  /** How long the lock lives in Redis without a renewal: a holder that dies frees it after this long. */
  ttlMs: number
  /** Renew this often while held (default ttl / 3). 0 = never: the lock lasts ttlMs at most. */
  renewEveryMs?: number
  /** Each Redis call of the lock fails after this long (default min(2 s, ttl / 3)). */
  callTimeoutMs?: number
  /** Called once when the lock turns out to be lost while held (taken over after expiry, or not renewed in time). */
  onLost?: () => void
}

export interface RedisLock {
  readonly key: string
  /** One attempt: true when this caller now holds the lock (renewed in the background until `release`). */
  tryAcquire(): Promise<boolean>
  /** Retries every `retryMs` until acquired (true) or `waitMs` has passed (false). */
  acquire(waitMs: number, retryMs?: number): Promise<boolean>
  /** Held, and confirmed by Redis within the last ttl (a holder cut off from Redis stops trusting it in time). */
  held(): boolean
  /** Frees the lock if it is still ours (never another holder's); false when it was not. Never throws. */
  release(): Promise<boolean>
  /** The token of the current holding (what the lock key holds in Redis), undefined when not held. */
  token(): string | undefined
}

const withScripts = new WeakSet<RedisClient>()

/**
 * A Redis lock on one key: SET NX PX with a random token per acquisition, renewal and release only while the
 * token is still ours (compare-and-expire / compare-and-delete in Lua), a timeout on every call. A holder that
 * outlived its TTL can neither renew nor free the lock of the one who took it next.
 */
export function createLock(redis: RedisClient, key: string, options: LockOptions): RedisLock {
  if (!withScripts.has(redis)) {
    loadScripts(redis, new URL('./', import.meta.url))
    withScripts.add(redis)
  }
  const { ttlMs } = options
  const renewEveryMs = options.renewEveryMs ?? Math.max(1, Math.floor(ttlMs / 3))
  const callTimeoutMs = options.callTimeoutMs ?? Math.max(1, Math.min(2000, Math.floor(ttlMs / 3)))
  let token: string | undefined
  /** Local time until which the lock is surely ours: when the last successful SET or renewal was sent, + ttl. */
  let validUntil = 0
  let timer: NodeJS.Timeout | undefined

  function lost() {
    if (token === undefined) return
    token = undefined
    clearTimeout(timer)
    options.onLost?.()
  }

  async function renew() {
    const mine = token
    if (mine === undefined) return
    const sentAt = Date.now()
    try {
      const ok = await timed(callScript<number>(redis, 'renewLock', [key], [mine, ttlMs]), callTimeoutMs)
      if (token !== mine) return
      if (ok !== 1) return lost()
      validUntil = sentAt + ttlMs
    } catch {
      // Unanswered: keep trying while the last confirmation still covers us, give up after.
      if (token === mine && Date.now() >= validUntil) return lost()
    }
    if (token === mine) schedule()
  }

  function schedule() {
    if (renewEveryMs <= 0) return
    timer = setTimeout(() => void renew(), renewEveryMs)
    timer.unref()
  }

  const lock: RedisLock = {
    key,
    async tryAcquire() {
      if (lock.held()) return true
      const candidate = randomBytes(16).toString('hex')
      const sentAt = Date.now()
      let reply: string | null
      try {
        reply = await timed(redis.set(key, candidate, 'PX', ttlMs, 'NX'), callTimeoutMs)
      } catch (error) {
        // The SET may still have been applied: free it if so, rather than leave it unheld for a whole ttl.
        void timed(callScript(redis, 'releaseLock', [key], [candidate]), callTimeoutMs).catch(() => 0)
        throw error
      }
      if (reply !== 'OK') return false
      token = candidate
      validUntil = sentAt + ttlMs
      schedule()
      return true
    },
    async acquire(waitMs, retryMs = 100) {
      const deadline = Date.now() + waitMs
      for (;;) {
        if (await lock.tryAcquire()) return true
        if (Date.now() + retryMs > deadline) return false
        await new Promise((r) => setTimeout(r, retryMs))
      }
    },
    held: () => token !== undefined && Date.now() < validUntil,
    token: () => token,
    async release() {
      const mine = token
      token = undefined
      clearTimeout(timer)
      if (mine === undefined) return false
      try {
        return (await timed(callScript<number>(redis, 'releaseLock', [key], [mine]), callTimeoutMs)) === 1
      } catch {
        return false // unreachable Redis: the ttl frees it
      }
    },
  }
  return lock
}

/**
 * Runs `fn` while holding the lock on `key` (renewed meanwhile), then frees it. `{ acquired: false }` when
 * another holder had it (after `waitMs` of retries, 0 = one attempt).
 */
export async function withLock<T>(
  redis: RedisClient,
  key: string,
  options: LockOptions & { waitMs?: number; retryMs?: number },
  fn: (lock: RedisLock) => Promise<T>,
): Promise<{ acquired: true; value: T } | { acquired: false }> {
  const lock = createLock(redis, key, options)
  if (!(await lock.acquire(options.waitMs ?? 0, options.retryMs))) return { acquired: false }
  try {
    return { acquired: true, value: await fn(lock) }
  } finally {
    await lock.release()
  }
}

/** Fails with ETIMEDOUT (→ 503 unavailable) when Redis has not answered within `ms`. */
function timed<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(Object.assign(new Error(`Redis lock call timed out after ${ms} ms`), { code: 'ETIMEDOUT' }))
    }, ms)
  })
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer))
}
