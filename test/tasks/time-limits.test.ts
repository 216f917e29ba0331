import { execFile } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { LazyAbort } from '../../src/tasks/time-limits.ts'
import { SoftTimeLimitExceeded, type TaskHandler, TimeLimitExceeded } from '../../src/tasks/types.ts'
import { onCluster, startTestApp, type TestApp } from '../support/app.ts'

const PYTHON = '/usr/bin/python3' // Debian's, where python3-celery lives
const pythonDir = path.join(path.dirname(new URL(import.meta.url).pathname), 'python')
const hasCelery = fs.existsSync(PYTHON) && fs.existsSync('/usr/lib/python3/dist-packages/celery')
const run = promisify(execFile)

describe('a task’s lazy abort', () => {
  it('is not aborted until aborted, and a signal read after the abort carries its reason', () => {
    const abort = new LazyAbort()
    expect([abort.aborted, abort.reason]).toEqual([false, undefined])
    const reason = new SoftTimeLimitExceeded(1)
    abort.abort(reason)
    expect([abort.aborted, abort.reason]).toEqual([true, reason])
    expect(abort.signal.aborted).toBe(true)
    expect(abort.signal.reason).toBe(reason)
  })

  it('a signal read before the abort is the same one, and hears it', () => {
    const abort = new LazyAbort()
    const signal = abort.signal
    const heard: unknown[] = []
    signal.addEventListener('abort', () => heard.push(signal.reason))
    abort.abort('revoked')
    expect(abort.signal).toBe(signal)
    expect(heard).toEqual(['revoked'])
  })
})

describe('time limits', () => {
  let app: TestApp
  let queue: string
  const hangReasons: unknown[] = []
  let softThrowRuns = 0

  beforeAll(async () => {
    // One slot: a hung task that kept it would stop every later task.
    app = await startTestApp({ env: { WORKER_CONCURRENCY: '1' } })
    queue = app.config.tasks.ownQueue
    const { registry } = app.tasks
    // Never finishes and ignores its signal: only the hard limit ends it.
    const hang: TaskHandler = (_a, _k, ctx) => {
      ctx.signal.addEventListener('abort', () => hangReasons.push(ctx.signal.reason))
      return new Promise(() => {})
    }
    registry.register('test.hang', hang, { maxRetries: 3, timeLimit: 0.5 })
    registry.register('test.hang_long', hang, { maxRetries: 3, timeLimit: 60 })
    // Catches its soft limit, cleans up and returns.
    registry.register(
      'test.soft_catch',
      (_a, _k, ctx) =>
        new Promise((resolve) => {
          ctx.signal.addEventListener('abort', () => {
            const reason = ctx.signal.reason
            resolve(reason instanceof SoftTimeLimitExceeded ? `cleaned up after ${reason.name}` : 'other')
          })
        }),
      { softTimeLimit: 0.3, timeLimit: 30 },
    )
    // Lets the soft limit propagate, as a Celery task that does not catch SoftTimeLimitExceeded.
    registry.register(
      'test.soft_throw',
      async (_a, _k, ctx) => {
        softThrowRuns += 1
        while (true) {
          ctx.signal.throwIfAborted()
          await new Promise((r) => setTimeout(r, 20))
        }
      },
      { maxRetries: 3 },
    )
    await app.start(['worker'])
  })
  afterAll(async () => {
    await app.close()
  })

  it("a hard limit (the task's own) fails the task with TimeLimitExceeded, frees its slot and acks it", async () => {
    const hung = await app.tasks.producer.send('test.hang', [], {}, { queue })
    const state = await app.tasks.results.wait(hung, 15_000)
    expect(state).toMatchObject({ status: 'FAILURE', error: { type: 'TimeLimitExceeded' } })
    const meta = JSON.parse((await app.redis.get(`celery-task-meta-${hung}`)) as string)
    expect(meta.result).toEqual({
      exc_type: 'TimeLimitExceeded',
      exc_message: [0.5],
      exc_module: 'billiard.exceptions',
    })
    // The only slot is free again: the next task runs while the hung handler is still pending.
    const next = await app.tasks.producer.send('hotspot.add', [2, 3], {}, { queue })
    expect(await app.tasks.results.wait(next, 15_000)).toMatchObject({ status: 'SUCCESS', result: 5 })
    // Told to stop, never retried (maxRetries 3), never redelivered: one run, one abort.
    expect(hangReasons).toHaveLength(1)
    expect(hangReasons[0]).toBeInstanceOf(TimeLimitExceeded)
  })

  it('a soft limit aborts the signal with SoftTimeLimitExceeded; a handler that catches it still succeeds', async () => {
    const id = await app.tasks.producer.send('test.soft_catch', [], {}, { queue })
    expect(await app.tasks.results.wait(id, 15_000)).toMatchObject({
      status: 'SUCCESS',
      result: 'cleaned up after SoftTimeLimitExceeded',
    })
  })

  it('a soft limit the handler lets through fails the task with SoftTimeLimitExceeded, without retries', async () => {
    const id = await app.tasks.producer.send('test.soft_throw', [], {}, { queue, softTimeLimit: 0.3 })
    expect(await app.tasks.results.wait(id, 15_000)).toMatchObject({
      status: 'FAILURE',
      error: { type: 'SoftTimeLimitExceeded' },
    })
    expect(softThrowRuns).toBe(1)
  })

  // Not on the cluster profile: the Python app takes one broker URL and one Redis node (vitest.cluster.config.ts).
  describe.runIf((hasCelery || process.env.CI) && !onCluster)(
    "from a Python client's time_limit / soft_time_limit",
    () => {
      const env = () => ({
        ...process.env,
        AMQP_URL: inject('amqpUrl'),
        REDIS_URL: inject('redisUrl'),
        PYTHONPATH: pythonDir,
      })
      async function pythonSends(name: string, hard: number | null, soft: number | null) {
        const argv = ['time_limit_client.py', name, queue, String(hard ?? '-'), String(soft ?? '-')]
        const { stdout } = await run(PYTHON, argv, { cwd: pythonDir, env: env(), timeout: 60_000 })
        return JSON.parse(stdout.trim().split('\n').pop() as string)
      }

      it("the message's hard limit overrides the task's own (60 s): Python's get() raises TimeLimitExceeded", async () => {
        expect(await pythonSends('test.hang_long', 1, null)).toMatchObject({
          error_type: 'TimeLimitExceeded',
          error_module: 'billiard.exceptions',
          args: [1],
        })
      })

      it("the message's soft limit: Python's get() raises SoftTimeLimitExceeded", async () => {
        expect(await pythonSends('test.soft_throw', null, 0.5)).toMatchObject({
          error_type: 'SoftTimeLimitExceeded',
          error_module: 'billiard.exceptions',
        })
      })
    },
  )
})
