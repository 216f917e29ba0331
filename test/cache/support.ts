import { afterAll, afterEach, beforeAll } from 'vitest'
import { type CacheDeps, createCache } from '../../src/cache/cache.ts'
import type { CacheOptions } from '../../src/cache/options.ts'
import { createLogger } from '../../src/infra/logger.ts'
import { startTestApp, type TestApp } from '../support/app.ts'

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** A gate a test opens by hand: a loader waits on it to play "slow". */
export function gate() {
  let open!: () => void
  let entered!: () => void
  const opened = new Promise<void>((resolve) => {
    open = resolve
  })
  const reached = new Promise<void>((resolve) => {
    entered = resolve
  })
  return {
    open,
    reached,
    wait: () => {
      entered()
      return opened
    },
  }
}

/**
 * Two "processes" of one deployment for a describe block: two apps with the same key prefix, each with its own
 * Redis connection, event-bus queue and L1; `pair` makes the same cache in both. Caches stop after each test.
 */
export function twoProcesses() {
  const apps = {} as { a: TestApp; b: TestApp }
  const caches: { stop(): Promise<void> }[] = []
  let n = 0
  beforeAll(async () => {
    apps.a = await startTestApp()
    apps.b = await startTestApp({ keyPrefix: apps.a.prefix })
    await Promise.all([apps.a.start(['api']), apps.b.start(['api'])])
  })
  afterEach(async () => {
    await Promise.all(caches.splice(0).map((c) => c.stop()))
  })
  afterAll(async () => {
    await Promise.all([apps.a?.close(), apps.b?.close()])
  })

  const deps = (app: TestApp): CacheDeps => ({
    redis: app.redis,
    events: app.tasks.events,
    prefix: app.prefix,
    log: createLogger('silent'),
    metrics: app.metrics,
  })

  /** A cache of a fresh name in one process (`a` or `b`). */
  function cache<T>(app: 'a' | 'b', options: Partial<CacheOptions<T>> & { name?: string } = {}) {
    const c = createCache<T>(deps(apps[app]), { name: `c${++n}`, ttlMs: 60_000, ...options })
    caches.push(c)
    return c
  }

  /** The same cache (name) in both processes. */
  function pair<T>(options: Partial<CacheOptions<T>> = {}, optionsB: Partial<CacheOptions<T>> = {}) {
    const name = `c${++n}`
    return {
      name,
      ca: cache<T>('a', { ...options, name }),
      cb: cache<T>('b', { ...options, ...optionsB, name }),
    }
  }

  return { apps, cache, pair }
}

/** A loader over a value the test changes, counting its runs. */
export function source<T>(initial: T) {
  const s = {
    value: initial,
    loads: 0,
    load: async () => {
      s.loads++
      return s.value
    },
  }
  return s
}
