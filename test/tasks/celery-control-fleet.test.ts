import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { TaskHandler } from '../../src/tasks/types.ts'
import { startTestApp, type TestApp } from '../support/app.ts'
import { hasCelery, PYTHON, pythonDir, pythonEnv } from './support/python-celery.ts'

const run = promisify(execFile)

/** Two hotspot workers of one deployment (one Redis prefix, one set of queues) under Celery's own CLI. */
describe.runIf(hasCelery || process.env.CI)('remote control of two hotspot workers', () => {
  const apps: TestApp[] = []
  const stamp = Date.now()
  const names = [`hs-a-${stamp}@localhost`, `hs-b-${stamp}@localhost`]
  const celery = async (...argv: string[]) => {
    const { stdout } = await run(
      PYTHON,
      ['-m', 'celery', '-A', 'interop_app', ...argv, '-d', names.join(','), '-j', '-t', '10'],
      { cwd: pythonDir, env: pythonEnv(), timeout: 60_000 },
    )
    return JSON.parse(stdout.trim().split('\n').pop() as string)
  }
  // Waits until aborted (revoke with terminate); the one task kind both workers run.
  const wait: TaskHandler = (_a, _k, ctx) =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => resolve('finished'), 20_000)
      ctx.signal.addEventListener('abort', () => {
        clearTimeout(timer)
        reject(ctx.signal.reason)
      })
    })

  beforeAll(async () => {
    for (const name of names) {
      const app = await startTestApp({
        keyPrefix: apps[0]?.prefix,
        databaseUrl: apps[0]?.config.databaseUrl,
        env: { WORKER_NAME: name, WORKER_CONCURRENCY: '1', WORKER_PREFETCH: '1' },
      })
      app.tasks.registry.register('test.wait', wait)
      await app.start(['worker'])
      apps.push(app)
    }
  })
  afterAll(async () => {
    for (const app of apps) await app.close()
  })

  it('revoke with terminate reaches both workers: each cancels the task it runs', async () => {
    const [a] = apps as [TestApp]
    const queue = a.config.tasks.ownQueue
    const ids = [
      await a.tasks.producer.send('test.wait', [], {}, { queue }),
      await a.tasks.producer.send('test.wait', [], {}, { queue }),
    ]
    // One slot each: one task runs on each worker.
    let active: Record<string, { id: string }[]> = {}
    for (let i = 0; i < 50; i++) {
      active = await celery('inspect', 'active')
      if (names.every((n) => active[n]?.length === 1)) break
      await new Promise((r) => setTimeout(r, 200))
    }
    const running = Object.fromEntries(names.map((n) => [n, active[n]?.[0]?.id]))
    expect(Object.values(running).sort()).toEqual([...ids].sort())

    const replies: Record<string, { ok: string }>[] = await celery('control', 'terminate', 'SIGTERM', ...ids)
    const byNode = Object.assign({}, ...replies)
    for (const n of names) expect(byNode[n]).toEqual({ ok: `terminate: ${running[n]}` })
    for (const id of ids) expect((await a.tasks.results.wait(id, 10_000)).status).toBe('REVOKED')
  })

  it('a revoked countdown task is known to both workers and never runs on whichever receives it', async () => {
    const [a, b] = apps as [TestApp, TestApp]
    const id = await a.tasks.producer.send('hotspot.add', [1, 2], {}, { countdown: 6 })
    const replies: Record<string, { ok: string }>[] = await celery('control', 'revoke', id)
    expect(Object.assign({}, ...replies)).toEqual(
      Object.fromEntries(names.map((n) => [n, { ok: `tasks ${id} flagged as revoked` }])),
    )
    const revoked = await celery('inspect', 'revoked')
    for (const n of names) expect(revoked[n]).toContain(id)
    expect((await b.tasks.results.wait(id, 30_000)).status).toBe('REVOKED')
  })
})
