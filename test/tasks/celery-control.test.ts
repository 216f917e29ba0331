import { execFile } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { promisify } from 'node:util'
import { Connection } from 'rabbitmq-client'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { startTestApp, type TestApp } from '../support/app.ts'

const PYTHON = '/usr/bin/python3' // Debian's, where python3-celery lives
const pythonDir = path.join(path.dirname(new URL(import.meta.url).pathname), 'python')
const hasCelery = fs.existsSync(PYTHON) && fs.existsSync('/usr/lib/python3/dist-packages/celery')
const run = promisify(execFile)

/** Celery's own `celery inspect` / `celery control` CLIs, as subprocesses, against a hotspot worker. */
describe.runIf(hasCelery || process.env.CI)('remote control from Python Celery', () => {
  let app: TestApp
  const name = `hs-${Date.now()}@localhost`
  const env = {
    ...process.env,
    AMQP_URL: inject('amqpUrl'),
    REDIS_URL: inject('redisUrl'),
    PYTHONPATH: pythonDir,
  }
  // -d names one node, so the CLI returns at its reply; -t 10 only bounds a slow machine (the default is 1 s).
  const celery = async (...argv: string[]) => {
    const { stdout } = await run(
      PYTHON,
      ['-m', 'celery', '-A', 'interop_app', ...argv, '-d', name, '-j', '-t', '10'],
      {
        cwd: pythonDir,
        env,
        timeout: 60_000,
      },
    )
    return JSON.parse(stdout.trim().split('\n').pop() as string)
  }

  beforeAll(async () => {
    app = await startTestApp({ env: { WORKER_NAME: name } })
    app.tasks.registry.register('test.wait', async (_a, _k, ctx) => {
      await new Promise((resolve, reject) => {
        const timer = setTimeout(resolve, 20_000)
        ctx.signal.addEventListener('abort', () => {
          clearTimeout(timer)
          reject(ctx.signal.reason)
        })
      })
      return 'finished'
    })
    await app.start(['worker'])
  })
  afterAll(async () => {
    await app.close()
  })

  it('`celery inspect ping` gets pong from the hotspot worker by its WORKER_NAME', async () => {
    expect(await celery('inspect', 'ping')).toEqual({ [name]: { ok: 'pong' } })
  })

  it('`celery inspect registered` lists the hotspot tasks and `stats` its pool', async () => {
    const registered = await celery('inspect', 'registered')
    expect(registered[name]).toContain('hotspot.add')
    expect(registered[name]).toContain('test.wait')
    const stats = await celery('inspect', 'stats')
    expect(stats[name].pool['max-concurrency']).toBe(app.config.worker.concurrency)
    expect(stats[name].pid).toBe(process.pid)
  })

  it('`celery control revoke` of a countdown task: it arrives later, is recorded REVOKED and never runs', async () => {
    const taskId = await app.tasks.producer.send('hotspot.add', [1, 2], {}, { countdown: 2 })
    expect(await celery('control', 'revoke', taskId)).toEqual([
      { [name]: { ok: `tasks ${taskId} flagged as revoked` } },
    ])
    const state = await app.tasks.results.wait(taskId, 30_000)
    expect(state.status).toBe('REVOKED')
    expect((await celery('inspect', 'revoked'))[name]).toContain(taskId)
  })

  it('revoke with terminate aborts a running task through its AbortSignal; `inspect active` saw it', async () => {
    const taskId = await app.tasks.producer.send('test.wait', [], {}, { queue: app.config.tasks.ownQueue })
    let active: { id: string }[] = []
    for (let i = 0; i < 50 && active.length === 0; i++) {
      active = (await celery('inspect', 'active'))[name]
      if (active.length === 0) await new Promise((r) => setTimeout(r, 200))
    }
    expect(active.map((t) => t.id)).toEqual([taskId])
    // `celery control terminate SIGTERM <id>` = revoke(id, terminate=True)
    expect(await celery('control', 'terminate', 'SIGTERM', taskId)).toEqual([
      { [name]: { ok: `terminate: ${taskId}` } },
    ])
    expect((await app.tasks.results.wait(taskId, 10_000)).status).toBe('REVOKED')
  })

  it('malformed control messages are ignored and the worker still answers', async () => {
    const amqp = new Connection(inject('amqpUrl'))
    const pub = amqp.createPublisher({ confirm: true })
    for (const body of ['not json{', '[1,2]', JSON.stringify({ method: 42, reply_to: 'x' }), 'null']) {
      await pub.send({ exchange: 'celery.pidbox', routingKey: '', contentType: 'application/json' }, body)
    }
    await pub.close()
    await amqp.close()
    expect(await celery('inspect', 'ping')).toEqual({ [name]: { ok: 'pong' } })
  })
})
