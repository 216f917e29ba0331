import type { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadScripts } from '../../src/infra/redis.ts'
import { RESULT_EXPIRES_SECONDS } from '../../src/tasks/result-meta.ts'
import { createTaskStates } from '../../src/tasks/task-states.ts'
import { startPrivateRedis } from './support/private-redis.ts'

// The worker's per-task Redis operations, batched per event-loop turn (task-states.ts), on a real Redis.
describe('task states batched per turn (real Redis)', () => {
  let server: Awaited<ReturnType<typeof startPrivateRedis>>
  let redis: Redis
  let states: ReturnType<typeof createTaskStates>
  const scriptRuns = async () => {
    const info = await redis.info('commandstats')
    const calls = (cmd: string) => Number(new RegExp(`cmdstat_${cmd}:calls=(\\d+)`).exec(info)?.[1] ?? 0)
    return calls('evalsha') + calls('eval')
  }

  beforeAll(async () => {
    server = await startPrivateRedis()
    redis = server.client()
    loadScripts(redis, new URL('../../src/tasks/', import.meta.url))
    states = createTaskStates(redis)
    await states.store('warm-up', '{}') // loads the script (EVALSHA, NOSCRIPT, EVAL) outside the counts below
  })
  afterAll(() => server.stop())

  it('one turn of 1 200 operations is 3 script runs, each answered as its own commands would be', async () => {
    const n = 600
    // The revoked key carries the result key as its hash tag (same slot), as control/revoked.ts names it.
    const revokedKey = (i: number) => `revoked:{meta:${i}}`
    for (let i = 0; i < n; i += 5) await redis.set(revokedKey(i), '1')
    for (let i = 0; i < n; i += 3) await redis.set(`meta:${i}`, '{"status": "SUCCESS", "result": 1}')
    const before = await scriptRuns()

    const [admitted, stored] = await Promise.all([
      Promise.all(
        Array.from({ length: n }, (_, i) =>
          states.admit(`meta:${i}`, revokedKey(i), `{"status": "STARTED", "n": ${i}}`),
        ),
      ),
      Promise.all(
        Array.from({ length: n }, (_, i) => states.store(`done:${i}`, `{"status": "SUCCESS", "n": ${i}}`)),
      ),
    ])

    expect(await scriptRuns()).toBe(before + 3) // 500 operations per run; their own commands were over 2 000
    // Revoked first (nothing written); then a task that already succeeded is not run again (a redelivery of a
    // finished task); the others run, STARTED written.
    expect(admitted).toEqual(
      Array.from({ length: n }, (_, i) => (i % 5 === 0 ? 'revoked' : i % 3 === 0 ? 'succeeded' : 'run')),
    )
    expect(stored).toEqual(Array.from({ length: n }, () => undefined))
    expect(await redis.get('meta:3')).toBe('{"status": "SUCCESS", "result": 1}')
    expect(await redis.get('meta:4')).toBe('{"status": "STARTED", "n": 4}')
    expect(await redis.get('meta:5')).toBeNull() // revoked: no STARTED
    expect(await redis.get('done:7')).toBe('{"status": "SUCCESS", "n": 7}')
    for (const key of ['done:7', 'meta:4']) {
      const ttl = await redis.ttl(key)
      expect(ttl).toBeGreaterThan(RESULT_EXPIRES_SECONDS - 60)
      expect(ttl).toBeLessThanOrEqual(RESULT_EXPIRES_SECONDS)
    }
  })

  it('a stored state is published on its key’s channel, as AsyncResult.get() waits for it', async () => {
    const subscriber = server.client()
    const heard = new Promise<[string, string]>((resolve) =>
      subscriber.on('message', (channel: string, message: string) => resolve([channel, message])),
    )
    await subscriber.subscribe('celery-task-meta-published')
    await states.store('celery-task-meta-published', '{"status": "SUCCESS", "result": 42}')
    expect(await heard).toEqual(['celery-task-meta-published', '{"status": "SUCCESS", "result": 42}'])
  })

  it('a Redis that stops answering fails the waiting operations instead of holding them', async () => {
    const hung = server.client()
    hung.options.commandTimeout = 300
    loadScripts(hung, new URL('../../src/tasks/', import.meta.url))
    const hungStates = createTaskStates(hung)
    await hungStates.store('warm-up', '{}')
    const pause = server.client()
    await pause.call('CLIENT', 'PAUSE', '1500', 'ALL')
    const started = Date.now()
    const outcomes = await Promise.allSettled([
      hungStates.admit('x', 'revoked:{x}', '{}'),
      hungStates.store('y', '{}'),
    ])
    expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected'])
    expect(Date.now() - started).toBeLessThan(1200)
    await new Promise((r) => setTimeout(r, 1600))
    expect(await hungStates.admit('meta:10', 'revoked:{meta:10}', '{}')).toBe('revoked') // recovers by itself once Redis answers
  })
})
