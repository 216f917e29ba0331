/**
 * BROKER_URL=redis://, no RabbitMQ: Celery remote control (pidbox) and events on kombu's Redis fanout, between a
 * Redis-only hotspot deployment and real Python Celery 5 (its CLI, its worker, its event receiver) on one broker.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { createInterface } from 'node:readline'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bindingKey } from '../../../src/tasks/broker/redis/kombu.ts'
import { createRevokedStore } from '../../../src/tasks/control/revoked.ts'
import { onCluster, startTestApp, type TestApp } from '../../support/app.ts'
import { ensureBuilt } from '../../web/support.ts'
import { startPrivateRedis } from '../support/private-redis.ts'
import {
  celeryCli,
  hasCelery,
  PYTHON,
  pythonDir,
  pythonEnv,
  spawnPythonWorker,
  stopPythonWorker,
} from '../support/python-celery.ts'

const root = path.resolve(import.meta.dirname, '../../..')
const run = promisify(execFile)

interface WorkerRow {
  hostname: string
  alive: boolean
  software: string
}

describe.runIf((hasCelery || process.env.CI) && !onCluster)('Redis broker: remote control and events', () => {
  let broker: Awaited<ReturnType<typeof startPrivateRedis>>
  let app: TestApp
  let pyWorker: ChildProcess
  const stamp = Date.now()
  const hs = `hs-rc-${stamp}@localhost`
  const py = `py-rc-${stamp}@localhost`
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hotspot-redis-control-'))
  const brokerEnv = () => ({ BROKER_URL: broker.url })
  /** `celery -A interop_app <argv> -d <nodes> -j -t 10` against the Redis broker. */
  const celery = <T = Record<string, unknown>>(nodes: string[], ...argv: string[]) =>
    celeryCli<T>([...argv, '-d', nodes.join(','), '-j', '-t', '10'], brokerEnv())

  /** `hotspot <argv>` as a process of a Redis-only deployment (no AMQP_URL at all). */
  async function hotspot(...argv: string[]) {
    const { AMQP_URL: _none, ...env } = pythonEnv(brokerEnv())
    const { stdout } = await run(process.execPath, ['bin/hotspot.js', ...argv], {
      cwd: root,
      env: { ...env, DATABASE_URL: path.join(dir, 'cli.db'), HOTSPOT_DATA_DIR: dir },
      timeout: 90_000,
    })
    return JSON.parse(stdout)
  }

  beforeAll(async () => {
    broker = await startPrivateRedis()
    await ensureBuilt() // dist/ for bin/hotspot.js
    app = await startTestApp({
      amqpUrl: undefined,
      env: { BROKER_URL: broker.url, WORKER_NAME: hs, WORKER_SEND_EVENTS: 'true' },
    })
    expect(app.amqp).toBeUndefined()
    await app.start(['worker'])
    pyWorker = spawnPythonWorker(`py-rc-${stamp}`, [], { env: brokerEnv(), name: py, heartbeat: true })
    // The Python worker's mailbox answers once it is up (slow to start on a loaded machine).
    for (const deadline = Date.now() + 120_000; Date.now() < deadline; ) {
      const replies: Record<string, unknown> = await celery([py], 'inspect', 'ping').catch(() => ({}))
      if (replies[py]) break
    }
  }, 300_000)
  afterAll(async () => {
    await stopPythonWorker(pyWorker)
    await app?.close()
    await broker?.stop()
    fs.rmSync(dir, { recursive: true, force: true })
  })

  it('`celery inspect ping` (broker redis://) gets pong from the hotspot worker and the Python worker', async () => {
    expect(await celery([hs, py], 'inspect', 'ping')).toEqual({ [hs]: { ok: 'pong' }, [py]: { ok: 'pong' } })
    // Python's reply queue was deleted after the call, as kombu does; the hotspot mailbox is bound as kombu's.
    const raw = broker.client()
    expect(await raw.smembers(bindingKey('reply.celery.pidbox'))).toEqual([])
    expect(await raw.smembers(bindingKey('celery.pidbox'))).toContain(`\x06\x16\x06\x16${hs}.celery.pidbox`)
  })

  it('`celery inspect registered` lists the hotspot tasks; `celery control revoke` flags the id in Redis', async () => {
    const registered = await celery<Record<string, string[]>>([hs], 'inspect', 'registered')
    expect(registered[hs]).toContain('hotspot.add')
    const taskId = await app.tasks.producer.send('hotspot.add', [1, 2], {}, { countdown: 6 })
    expect(await celery([hs], 'control', 'revoke', taskId)).toEqual([
      { [hs]: { ok: `tasks ${taskId} flagged as revoked` } },
    ])
    expect((await app.tasks.results.wait(taskId, 30_000)).status).toBe('REVOKED')
  })

  it('`hotspot inspect ping` / `hotspot control revoke` with no RabbitMQ reach both workers', async () => {
    expect(await hotspot('inspect', 'ping', '-d', `${hs},${py}`, '-t', '10')).toEqual({
      [hs]: { ok: 'pong' },
      [py]: { ok: 'pong' },
    })
    const id = `cli-revoke-${stamp}`
    expect(await hotspot('control', 'revoke', id, '-d', `${hs},${py}`, '-t', '10')).toEqual({
      [hs]: { ok: `tasks ${id} flagged as revoked` },
      [py]: { ok: `tasks ${id} flagged as revoked` },
    })
    expect(await app.redis.exists(createRevokedStore(app.redis, app.prefix).key(id))).toBe(1)
    expect((await hotspot('inspect', 'revoked', '-d', py, '-t', '10'))[py]).toContain(id)
  })

  it('the admin workers page lists both from their heartbeats; its revoke reaches the hotspot worker', async () => {
    let rows: WorkerRow[] = []
    for (let i = 0; i < 100; i++) {
      const res = await app.http.inject({ method: 'GET', url: '/api/admin/workers', headers: app.auth })
      expect(res.statusCode).toBe(200)
      rows = res.json().workers
      if ([hs, py].every((h) => rows.some((w) => w.hostname === h && w.alive))) break
      await new Promise((r) => setTimeout(r, 300))
    }
    expect(rows.find((w) => w.hostname === hs)).toMatchObject({ alive: true, software: 'hotspot 0.1.0' })
    expect(rows.find((w) => w.hostname === py)).toMatchObject({ alive: true, software: 'py-celery 5.2.6' })
    const res = await app.http.inject({
      method: 'POST',
      url: `/api/admin/tasks/admin-${stamp}/revoke`,
      headers: app.auth,
      payload: {},
    })
    expect(res.json().replies[hs]).toEqual({ ok: `tasks admin-${stamp} flagged as revoked` })
  })

  it("Celery's event receiver over Redis sees the hotspot worker's heartbeats and task events", async () => {
    const child = spawn(PYTHON, ['event_receiver.py', hs, '2', 'ready-on-event'], {
      cwd: pythonDir,
      env: pythonEnv(brokerEnv()),
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    try {
      const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]()
      expect((await lines.next()).value).toBe('ready') // subscribed: it has heard the worker
      const queue = app.config.tasks.ownQueue
      const added = await app.tasks.producer.send('hotspot.add', [2, 3], {}, { queue })
      const failed = await app.tasks.producer.send('hotspot.fail', ['boom'], {}, { queue })
      const seen = JSON.parse(String((await lines.next()).value)) as {
        events: { type: string; uuid?: string; hostname: string }[]
        worker: { alive: boolean; sw_ident: string } | null
        tasks: Record<string, { state: string; result: string; exception: string; hostname: string }>
      }
      expect(seen.events.some((e) => e.type === 'worker-heartbeat')).toBe(true)
      const types = (id: string) => seen.events.filter((e) => e.uuid === id).map((e) => e.type)
      expect(types(added)).toEqual(['task-received', 'task-started', 'task-succeeded'])
      expect(types(failed)).toEqual(['task-received', 'task-started', 'task-failed'])
      expect(seen.worker).toMatchObject({ alive: true, sw_ident: 'hotspot' })
      expect(seen.tasks[added]).toMatchObject({ state: 'SUCCESS', result: '5', hostname: hs })
      expect(seen.tasks[failed]).toMatchObject({ state: 'FAILURE', exception: "PermanentTaskError('boom')" })
    } finally {
      child.kill()
    }
  })
})
