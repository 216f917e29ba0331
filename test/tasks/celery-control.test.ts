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
    app.tasks.registry.register(
      'test.rated',
      (_a, _k, ctx) => {
        starts.push([ctx.taskId, Date.now()])
        return 'ok'
      },
      { queue: app.config.tasks.ownQueue },
    )
    await app.start(['worker'])
  })
  const starts: [string, number][] = []
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
    // 6 s: the revoke must get there first, and `celery control` (a Python start-up) takes seconds on a busy machine.
    const taskId = await app.tasks.producer.send('hotspot.add', [1, 2], {}, { countdown: 6 })
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

  it("`celery control rate_limit` sets a task type's rate: its starts are then at least 1/rate apart", async () => {
    expect(await celery('control', 'rate_limit', 'test.rated', '4/s')).toEqual([
      { [name]: { ok: 'new rate limit set successfully' } },
    ])
    const ids = await Promise.all(
      [1, 2, 3, 4].map(() =>
        app.tasks.producer.send('test.rated', [], {}, { queue: app.config.tasks.ownQueue }),
      ),
    )
    for (const id of ids) expect((await app.tasks.results.wait(id, 20_000)).status).toBe('SUCCESS')
    const times = starts.filter(([id]) => ids.includes(id)).map(([, t]) => t)
    expect(times).toHaveLength(4)
    // A token bucket of capacity 1 at 4/s: each start 250 ms after the one before, give or take the Redis round
    // trip between the bucket and the handler (100 ms of slack here; unlimited, all four start within a few ms).
    const gaps = times.slice(1).map((t, i) => t - (times[i] as number))
    for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(150)
    expect((times[3] as number) - (times[0] as number)).toBeGreaterThanOrEqual(650)
    expect(app.tasks.registry.get('test.rated')?.options.rateLimit).toBe('4/s')
  })

  it('`rate_limit` answers as Celery does for an unknown task and for a bad rate', async () => {
    expect(await celery('control', 'rate_limit', 'no.such.task', '1/s')).toEqual([
      { [name]: { error: 'unknown task' } },
    ])
    const [reply] = await celery('control', 'rate_limit', 'test.rated', 'fast/s')
    expect(reply[name].error).toMatch(/^Invalid rate limit string: ValueError\(/)
    expect(app.tasks.registry.get('test.rated')?.options.rateLimit).toBe('4/s')
  })

  it("`celery control time_limit` sets the task's soft and hard limits", async () => {
    expect(await celery('control', 'time_limit', 'test.wait', '1.5', '3')).toEqual([
      { [name]: { ok: 'time limits set successfully' } },
    ])
    expect(app.tasks.registry.get('test.wait')?.options).toMatchObject({ softTimeLimit: 1.5, timeLimit: 3 })
    expect(await celery('control', 'time_limit', 'no.such.task', '1')).toEqual([
      { [name]: { error: 'unknown task' } },
    ])
  })

  it("replies carry a Lamport clock advanced past the caller's, as kombu's pidbox does", async () => {
    const amqp = new Connection(inject('amqpUrl'))
    const replyQueue = `reply-${Date.now()}`
    const got = new Promise<{ clock: unknown; ticket: unknown; body: unknown }>((resolve) => {
      const consumer = amqp.createConsumer(
        {
          queue: replyQueue,
          queueOptions: { exclusive: true, autoDelete: true },
          queueBindings: [{ queue: replyQueue, exchange: 'reply.celery.pidbox', routingKey: replyQueue }],
          exchanges: [{ exchange: 'reply.celery.pidbox', type: 'direct', durable: false }],
        },
        (msg) => {
          resolve({ clock: msg.headers?.clock, ticket: msg.headers?.ticket, body: msg.body })
          void consumer.close()
        },
      )
    })
    await new Promise((r) => setTimeout(r, 300)) // the reply queue is bound before the question goes out
    const pub = amqp.createPublisher({ confirm: true })
    await pub.send(
      {
        exchange: 'celery.pidbox',
        routingKey: '',
        contentType: 'application/json',
        headers: { clock: 1000 },
      },
      {
        method: 'ping',
        arguments: {},
        destination: [name],
        ticket: 'ticket-1',
        reply_to: { exchange: 'reply.celery.pidbox', routing_key: replyQueue },
      },
    )
    const reply = await got
    await pub.close()
    await amqp.close()
    expect(reply.ticket).toBe('ticket-1')
    expect(reply.body).toEqual({ [name]: { ok: 'pong' } })
    // adjust(1000) on receipt → ≥ 1001, forward() on the reply → ≥ 1002
    expect(Number(reply.clock)).toBeGreaterThanOrEqual(1002)
  })
})
