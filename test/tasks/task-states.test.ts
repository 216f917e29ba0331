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
    await states.exists('warm-up') // loads the script (EVALSHA, NOSCRIPT, EVAL) outside the counts below
  })
  afterAll(() => server.stop())

  it('one turn of 1 200 operations is 3 script runs, each answered as its own command would be', async () => {
    const n = 400
    await redis.set('revoked:even', '1')
    for (let i = 0; i < n; i += 3) await redis.set(`meta:${i}`, '{"status": "SUCCESS", "result": 1}')
    const before = await scriptRuns()

    const [revoked, started, stored] = await Promise.all([
      Promise.all(Array.from({ length: n }, (_, i) => states.exists(i % 2 ? 'revoked:odd' : 'revoked:even'))),
      Promise.all(
        Array.from({ length: n }, (_, i) => states.start(`meta:${i}`, `{"status": "STARTED", "n": ${i}}`)),
      ),
      Promise.all(
        Array.from({ length: n }, (_, i) => states.store(`done:${i}`, `{"status": "SUCCESS", "n": ${i}}`)),
      ),
    ])

    expect(await scriptRuns()).toBe(before + 3) // 500 operations per run; one command each was 1 200
    expect(revoked).toEqual(Array.from({ length: n }, (_, i) => i % 2 === 0))
    // A task that already succeeded is not marked started (a redelivery of a finished task); the others are.
    expect(started).toEqual(Array.from({ length: n }, (_, i) => i % 3 !== 0))
    expect(stored).toEqual(Array.from({ length: n }, () => undefined))
    expect(await redis.get('meta:3')).toBe('{"status": "SUCCESS", "result": 1}')
    expect(await redis.get('meta:4')).toBe('{"status": "STARTED", "n": 4}')
    expect(await redis.get('done:7')).toBe('{"status": "SUCCESS", "n": 7}')
    const ttl = await redis.ttl('done:7')
    expect(ttl).toBeGreaterThan(RESULT_EXPIRES_SECONDS - 60)
    expect(ttl).toBeLessThanOrEqual(RESULT_EXPIRES_SECONDS)
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
    await hungStates.exists('warm-up')
    const pause = server.client()
    await pause.call('CLIENT', 'PAUSE', '1500', 'ALL')
    const started = Date.now()
    const outcomes = await Promise.allSettled([hungStates.exists('x'), hungStates.store('y', '{}')])
    expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected'])
    expect(Date.now() - started).toBeLessThan(1200)
    await new Promise((r) => setTimeout(r, 1600))
    expect(await hungStates.exists('revoked:even')).toBe(true) // recovers by itself once Redis answers
  })
})
