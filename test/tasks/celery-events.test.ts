import { type ChildProcess, execFile, spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { createInterface } from 'node:readline'
import { promisify } from 'node:util'
import { Connection } from 'rabbitmq-client'
import { afterAll, afterEach, describe, expect, inject, it } from 'vitest'
import { RetryTask } from '../../src/tasks/types.ts'
import { startTestApp, type TestApp } from '../support/app.ts'

const PYTHON = '/usr/bin/python3' // Debian's, where python3-celery lives
const here = path.dirname(new URL(import.meta.url).pathname)
const pythonDir = path.join(here, 'python')
const hasCelery = fs.existsSync(PYTHON) && fs.existsSync('/usr/lib/python3/dist-packages/celery')
const fixture = JSON.parse(
  fs.readFileSync(path.join(here, '../fixtures/celery/fixtures/control_events.json'), 'utf8'),
) as { events: { body: Record<string, unknown> | Record<string, unknown>[] }[] }
const env = () => ({
  ...process.env,
  AMQP_URL: inject('amqpUrl'),
  REDIS_URL: inject('redisUrl'),
  PYTHONPATH: pythonDir,
})

type Event = Record<string, unknown> & { type: string; uuid?: string }
interface Seen {
  events: Event[]
  worker: { alive: boolean; freq: number; processed: number; active: number; sw_ident: string } | null
  tasks: Record<string, { state: string; name: string; result: string; exception: string; hostname: string }>
}

/** The key sets of every event type a real Celery 5.2.6 worker sent (the capture). */
function celeryKeys(): Map<string, string[]> {
  const keys = new Map<string, string[]>()
  for (const message of fixture.events) {
    for (const body of [message.body].flat()) keys.set(String(body.type), Object.keys(body).sort())
  }
  return keys
}

const receivers: ChildProcess[] = []
/** Starts Celery's event receiver (test/tasks/python/event_receiver.py); resolves once its queue is bound. */
async function startReceiver(hostname: string, terminalEvents: number, wakeup = false) {
  const argv = ['event_receiver.py', hostname, String(terminalEvents), ...(wakeup ? ['wakeup'] : [])]
  const child = spawn(PYTHON, argv, {
    cwd: pythonDir,
    env: env(),
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  receivers.push(child)
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]()
  const first = await lines.next()
  expect(first.value).toBe('ready')
  return {
    async result(): Promise<Seen> {
      const line = await lines.next()
      return JSON.parse(String(line.value)) as Seen
    },
  }
}

describe.runIf(hasCelery || process.env.CI)("Celery events seen by Celery's own receiver", () => {
  const apps: TestApp[] = []
  afterEach(() => {
    for (const child of receivers.splice(0)) child.kill()
  })
  afterAll(async () => {
    for (const app of apps) await app.close()
  })

  async function worker(name: string, extra: Record<string, string>) {
    const app = await startTestApp({ env: { WORKER_NAME: name, ...extra } })
    apps.push(app)
    return app
  }

  it('task-sent/received/started/succeeded/failed/retried/revoked and heartbeats, with Celery’s fields', async () => {
    const name = `ev-${Date.now()}@localhost`
    const app = await worker(name, { WORKER_SEND_EVENTS: 'true', TASK_SEND_SENT_EVENT: 'true' })
    app.tasks.registry.register(
      'test.retry_once',
      (_a, _k, ctx) => {
        if (ctx.retries === 0) throw new RetryTask('once more', 0)
        return 'second time'
      },
      { maxRetries: 1 },
    )
    const receiver = await startReceiver(name, 4) // before the worker starts: it sees worker-online
    await app.start(['worker'])
    const queue = app.config.tasks.ownQueue
    const { producer } = app.tasks
    const added = await producer.send('hotspot.add', [2, 3], {}, { queue })
    const failed = await producer.send('hotspot.fail', ['boom'], {}, { queue })
    const retried = await producer.send('test.retry_once', [], {}, { queue })
    const expired = await producer.send(
      'hotspot.add',
      [1, 1],
      {},
      { queue, expires: new Date(Date.now() - 1000) },
    )
    const seen = await receiver.result()

    // Every event a Celery worker sends carries exactly the fields it carries.
    const keys = celeryKeys()
    const types = new Set(seen.events.map((e) => e.type))
    for (const type of ['worker-online', 'worker-heartbeat', 'task-received', 'task-started']) {
      expect(types).toContain(type)
    }
    for (const type of ['task-succeeded', 'task-failed', 'task-retried', 'task-revoked']) {
      expect(types).toContain(type)
    }
    for (const event of seen.events) {
      if (event.type === 'task-sent') continue
      // The receiver adds local_received; Celery's capture did not pass through a receiver.
      const { local_received: _added, ...wire } = event
      expect([event.type, Object.keys(wire).sort()]).toEqual([event.type, keys.get(event.type)])
      expect(event.hostname).toBe(name)
    }
    const of = (type: string, id: string) => seen.events.find((e) => e.type === type && e.uuid === id)
    expect(of('task-sent', added)).toMatchObject({
      name: 'hotspot.add',
      args: '[2, 3]',
      queue,
      routing_key: queue,
    })
    expect(of('task-received', added)).toMatchObject({ name: 'hotspot.add', args: '[2, 3]', kwargs: '{}' })
    expect(of('task-succeeded', added)).toMatchObject({ result: '5' })
    expect(of('task-failed', failed)).toMatchObject({ exception: "PermanentTaskError('boom')" })
    expect(of('task-retried', retried)).toMatchObject({ exception: "RetryTask('once more')" })
    expect(of('task-revoked', expired)).toMatchObject({ expired: true, terminated: false })
    const heartbeat = seen.events.find((e) => e.type === 'worker-heartbeat')
    expect(heartbeat).toMatchObject({ freq: 2, sw_ident: 'hotspot', pid: process.pid })
    expect(heartbeat?.loadavg).toHaveLength(3)

    // Flower's model (celery.events.state.State) built from those events.
    expect(seen.worker).toMatchObject({ alive: true, freq: 2, sw_ident: 'hotspot' })
    expect(seen.tasks[added]).toMatchObject({
      state: 'SUCCESS',
      name: 'hotspot.add',
      result: '5',
      hostname: name,
    })
    expect(seen.tasks[failed]).toMatchObject({ state: 'FAILURE', exception: "PermanentTaskError('boom')" })
    expect(seen.tasks[retried]?.state).toBe('SUCCESS')
    expect(seen.tasks[expired]?.state).toBe('REVOKED')
  })

  it('task events are off by default (heartbeats are not); `celery control enable_events` turns them on', async () => {
    const name = `ev-off-${Date.now()}@localhost`
    const app = await worker(name, {})
    await app.start(['worker'])
    const receiver = await startReceiver(name, 1)
    const queue = app.config.tasks.ownQueue
    const quiet = await app.tasks.producer.send('hotspot.add', [1, 2], {}, { queue })
    expect((await app.tasks.results.wait(quiet, 10_000)).status).toBe('SUCCESS')
    const { stdout } = await promisify(execFile)(
      PYTHON,
      ['-m', 'celery', '-A', 'interop_app', 'control', 'enable_events', '-d', name, '-j', '-t', '10'],
      { cwd: pythonDir, env: env(), timeout: 60_000 },
    )
    expect(JSON.parse(stdout.trim().split('\n').pop() as string)).toEqual([
      { [name]: { ok: 'task events enabled' } },
    ])
    const loud = await app.tasks.producer.send('hotspot.add', [3, 4], {}, { queue })
    const seen = await receiver.result()
    const ids = new Set(seen.events.map((e) => e.uuid).filter(Boolean))
    expect(ids).toEqual(new Set([loud]))
    expect(seen.events.some((e) => e.type === 'task-sent')).toBe(false) // TASK_SEND_SENT_EVENT is off
    expect(seen.tasks[loud]?.state).toBe('SUCCESS')
    expect(seen.worker?.alive).toBe(true)
  })

  it("events carry the worker's Lamport clock: forwarded per event, merged with a control message's clock", async () => {
    const name = `ev-clock-${Date.now()}@localhost`
    const app = await worker(name, { WORKER_SEND_EVENTS: 'true' })
    await app.start(['worker'])
    const receiver = await startReceiver(name, 2)
    const queue = app.config.tasks.ownQueue
    const before = await app.tasks.producer.send('hotspot.add', [1, 1], {}, { queue })
    expect((await app.tasks.results.wait(before, 10_000)).status).toBe('SUCCESS')
    // A Python client whose clock is far ahead pings the worker: the worker adjusts its clock past it.
    const { stdout } = await promisify(execFile)(PYTHON, ['control_clock.py', name, '5000'], {
      cwd: pythonDir,
      env: env(),
      timeout: 60_000,
    })
    const ping = JSON.parse(stdout.trim().split('\n').pop() as string) as { sent: number; replies: unknown[] }
    expect(ping.replies).toEqual([{ [name]: { ok: 'pong' } }])
    const after = await app.tasks.producer.send('hotspot.add', [2, 2], {}, { queue })
    const seen = await receiver.result()

    // Task events leave in order; a heartbeat (its own message, as in Celery) may overtake a buffered batch.
    const clocks = seen.events
      .filter((e) => e.hostname === name && e.type.startsWith('task-'))
      .map((e) => e.clock as number)
    for (const [i, c] of clocks.entries()) if (i > 0) expect(c).toBeGreaterThan(clocks[i - 1] as number)
    const of = (type: string, id: string) =>
      seen.events.find((e) => e.type === type && e.uuid === id)?.clock as number
    expect(of('task-succeeded', before)).toBeLessThan(ping.sent)
    expect(of('task-received', after)).toBeGreaterThan(ping.sent)
    expect(of('task-succeeded', after)).toBeGreaterThan(of('task-started', after))
  })

  it("the receiver's wake-up (`heartbeat` broadcast, as Flower starts) gets an immediate heartbeat", async () => {
    const name = `ev-wake-${Date.now()}@localhost`
    const app = await worker(name, {})
    await app.start(['worker'])
    const seen = await (await startReceiver(name, 0, true)).result()
    const answer = seen.events.find((e) => e.type === 'worker-heartbeat' && e.freq === 5)
    const { local_received: _added, ...wire } = answer ?? ({} as Event)
    // Celery's own answer carries freq 5 and the software info, no counters.
    expect(Object.keys(wire).sort()).toEqual(
      [
        'clock',
        'freq',
        'hostname',
        'pid',
        'sw_ident',
        'sw_sys',
        'sw_ver',
        'timestamp',
        'type',
        'utcoffset',
      ].sort(),
    )
  })
})

describe('task events on the wire', () => {
  it("leave as Celery's worker sends them: `task.multi` messages of up to 24 events, many tasks per message", async () => {
    const app = await startTestApp({
      env: { WORKER_NAME: `ev-multi-${Date.now()}@localhost`, WORKER_SEND_EVENTS: 'true' },
    })
    const amqp = new Connection(inject('amqpUrl'))
    const messages: { routingKey: string; body: unknown }[] = []
    const tap = amqp.createConsumer(
      {
        queueOptions: { exclusive: true, autoDelete: true },
        exchanges: [{ exchange: 'celeryev', type: 'topic', durable: true }], // as Celery declares it
        queueBindings: [{ exchange: 'celeryev', routingKey: 'task.#' }],
        noAck: true,
      },
      (message) => {
        messages.push({ routingKey: message.routingKey, body: message.body })
      },
    )
    try {
      await new Promise((resolve) => tap.once('ready', resolve))
      await app.start(['worker'])
      const queue = app.config.tasks.ownQueue
      const ids = await Promise.all(
        Array.from({ length: 40 }, (_, i) => app.tasks.producer.send('hotspot.add', [i, 1], {}, { queue })),
      )
      for (const id of ids) expect((await app.tasks.results.wait(id, 10_000)).status).toBe('SUCCESS')
      const events = () => messages.flatMap((m) => (Array.isArray(m.body) ? m.body : [m.body])) as Event[]
      for (let i = 0; i < 50 && events().length < 120; i++) await new Promise((r) => setTimeout(r, 100))

      expect(new Set(messages.map((m) => m.routingKey))).toEqual(new Set(['task.multi']))
      for (const { body } of messages) {
        expect(Array.isArray(body)).toBe(true)
        expect((body as unknown[]).length).toBeLessThanOrEqual(24)
      }
      const types = events()
        .filter((e) => ids.includes(e.uuid as string))
        .map((e) => e.type)
      expect(types.filter((t) => t === 'task-received')).toHaveLength(40)
      expect(types.filter((t) => t === 'task-started')).toHaveLength(40)
      expect(types.filter((t) => t === 'task-succeeded')).toHaveLength(40)
      expect(messages.length).toBeLessThan(40) // one publish per event was 120
    } finally {
      await tap.close()
      await amqp.close()
      await app.close()
    }
  })
})
