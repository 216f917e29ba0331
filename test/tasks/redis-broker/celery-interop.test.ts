import type { ChildProcess } from 'node:child_process'
import type { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { DELAYED, UNACKED } from '../../../src/tasks/broker/redis/kombu.ts'
import { startTestApp, type TestApp } from '../../support/app.ts'
import { startPrivateRedis } from '../support/private-redis.ts'
import { hasCelery, runPythonWith, spawnPythonWorker, stopPythonWorker } from '../support/python-celery.ts'
import { startWorkerProcess } from '../support/start-worker-process.ts'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/**
 * BROKER_URL=redis://: real Celery 5.2 (kombu's Redis transport) and hotspot on one private Redis broker, both
 * directions, and a killed hotspot worker's message delivered again after the visibility timeout.
 */
describe.runIf(hasCelery || process.env.CI)('Redis broker: interop with Python Celery', () => {
  let broker: Awaited<ReturnType<typeof startPrivateRedis>>
  let raw: Redis
  let app: TestApp
  let pyWorker: ChildProcess
  const pyQueue = `py-${Date.now()}`
  const env = () => ({ BROKER_URL: broker.url, BROKER_VISIBILITY_TIMEOUT: '2' })

  beforeAll(async () => {
    broker = await startPrivateRedis()
    raw = broker.client()
    app = await startTestApp({ env: { BROKER_URL: broker.url, BROKER_VISIBILITY_TIMEOUT: '2' } })
    await app.start(['worker'])
    pyWorker = spawnPythonWorker(pyQueue, [], { env: env() })
  })
  afterAll(async () => {
    await stopPythonWorker(pyWorker)
    await app?.close()
    await broker?.stop()
  })

  async function pythonSends(name: string, args: unknown[], queue: string, countdown?: number) {
    const argv = [name, JSON.stringify(args), queue, ...(countdown ? [String(countdown)] : [])]
    return runPythonWith(env(), 'interop_client.py', ...argv)
  }

  it("hotspot's producer runs a Python task through kombu's lists and reads its result", async () => {
    const taskId = await app.tasks.producer.send('py.add', [20, 22], {}, { queue: pyQueue })
    expect(await app.tasks.results.wait(taskId, 30_000)).toEqual({ taskId, status: 'SUCCESS', result: 42 })
    expect(await raw.smembers(`_kombu.binding.${pyQueue}`)).toEqual([`${pyQueue}\x06\x16\x06\x16${pyQueue}`])
  })

  it("Python's send_task('hotspot.add', (2, 3)) runs on hotspot's worker and get() returns 5", async () => {
    expect(await pythonSends('hotspot.add', [2, 3], app.config.tasks.defaultQueue)).toMatchObject({
      result: 5,
    })
    expect(await raw.hlen(UNACKED)).toBe(0)
  })

  it("a hotspot failure is raised by Python's get() with the message", async () => {
    const out = await pythonSends('hotspot.fail', ['from hotspot'], app.config.tasks.defaultQueue)
    expect(out).toMatchObject({ error_type: 'PermanentTaskError', message: 'from hotspot' })
  })

  it('a Python countdown (eta header) waits in the Redis delayed set, not in a worker, then runs', async () => {
    const started = Date.now()
    const sending = pythonSends('hotspot.add', [40, 2], app.config.tasks.defaultQueue, 3)
    await expect.poll(() => raw.zcard(DELAYED), { timeout: 10_000 }).toBeGreaterThan(0)
    // No worker holds it while it waits (its ack follows the move to the delayed set within a turn: poll).
    await expect.poll(() => raw.hlen(UNACKED), { timeout: 1000 }).toBe(0)
    expect(await sending).toMatchObject({ result: 42 })
    expect(Date.now() - started).toBeGreaterThanOrEqual(2900)
  })

  it("hotspot's countdown reaches the Python worker after its delay", async () => {
    const started = Date.now()
    const taskId = await app.tasks.producer.send('py.add', [1, 1], {}, { queue: pyQueue, countdown: 2 })
    expect(await app.tasks.results.wait(taskId, 30_000)).toMatchObject({ status: 'SUCCESS', result: 2 })
    expect(Date.now() - started).toBeGreaterThanOrEqual(1900)
  })

  it("a Python worker killed mid-task: hotspot's restore puts its message back for the next worker", async () => {
    const queue = `${pyQueue}-kill`
    const start = () =>
      spawnPythonWorker(queue, [], {
        env: { ...env(), BROKER_VISIBILITY_TIMEOUT: '3600' }, // only hotspot restores here
        heartbeat: true,
        logLevel: 'ERROR',
        showStderr: false,
      })
    const first = start()
    const taskId = await app.tasks.producer.send('py.sleep', [1], {}, { queue })
    await expect
      .poll(() => app.tasks.results.get(taskId).then((s) => s.status), { timeout: 20_000 })
      .toBe('STARTED')
    await stopPythonWorker(first, 'SIGKILL')
    // hotspot's worker (visibility timeout 2 s) restores it; a new Python worker runs it.
    await expect.poll(() => raw.llen(queue), { timeout: 10_000 }).toBe(1)
    const item = JSON.parse((await raw.lindex(queue, 0)) as string)
    expect(item.properties.delivery_info.redelivered).toBe(true)
    const second = start()
    try {
      expect(await app.tasks.results.wait(taskId, 30_000)).toMatchObject({ status: 'SUCCESS', result: 1 })
    } finally {
      await stopPythonWorker(second)
    }
  })
})

describe('Redis broker: a killed hotspot worker', () => {
  let broker: Awaited<ReturnType<typeof startPrivateRedis>>
  let app: TestApp

  beforeAll(async () => {
    broker = await startPrivateRedis()
    // A producer only: the worker processes below consume.
    app = await startTestApp({ env: { BROKER_URL: broker.url, BROKER_VISIBILITY_TIMEOUT: '2' } })
  })
  afterAll(async () => {
    await app?.close()
    await broker?.stop()
  })

  it('its unacked message comes back after the visibility timeout and runs once more, to success', async () => {
    const env = { BROKER_URL: broker.url, BROKER_VISIBILITY_TIMEOUT: '2' }
    const doomed = await startWorkerProcess(app, inject('amqpUrl'), { ...env, HANG: '1' })
    const taskId = await app.tasks.producer.send('test.effect', [], {}, { queue: app.config.tasks.ownQueue })
    await expect.poll(() => app.redis.hget(`${app.prefix}:runs`, taskId), { timeout: 20_000 }).toBe('1')
    doomed.kill('SIGKILL')
    await new Promise((r) => doomed.once('exit', r))
    const survivor = await startWorkerProcess(app, inject('amqpUrl'), env)
    try {
      expect(await app.tasks.results.wait(taskId, 30_000)).toMatchObject({
        status: 'SUCCESS',
        result: 'done',
      })
      expect(await app.redis.hget(`${app.prefix}:runs`, taskId)).toBe('2')
      expect(await app.redis.hget(`${app.prefix}:effects`, taskId)).toBe(String(survivor.pid))
      await sleep(100)
      expect(await broker.client().hlen(UNACKED)).toBe(0)
    } finally {
      survivor.kill('SIGTERM')
      await new Promise((r) => survivor.once('exit', r))
    }
  })
})

describe.runIf(hasCelery || process.env.CI)(
  "Redis broker: Python's restore of a killed hotspot worker's message",
  () => {
    let broker: Awaited<ReturnType<typeof startPrivateRedis>>
    let app: TestApp

    beforeAll(async () => {
      broker = await startPrivateRedis()
      // hotspot's own processes never restore here (visibility timeout 1 h): only the Python worker does.
      app = await startTestApp({ env: { BROKER_URL: broker.url } })
    })
    afterAll(async () => {
      await app?.close()
      await broker?.stop()
    })

    it('a Python worker (visibility timeout 2 s) puts it back in its queue, flagged redelivered', async () => {
      const raw = broker.client()
      const doomed = await startWorkerProcess(app, inject('amqpUrl'), { BROKER_URL: broker.url, HANG: '1' })
      const queue = app.config.tasks.ownQueue
      const taskId = await app.tasks.producer.send('test.effect', [], {}, { queue })
      await expect.poll(() => app.redis.hget(`${app.prefix}:runs`, taskId), { timeout: 20_000 }).toBe('1')
      doomed.kill('SIGKILL')
      await new Promise((r) => doomed.once('exit', r))
      const [tag, value] = Object.entries(await raw.hgetall(UNACKED))[0] as [string, string]
      const [payload, exchange, routingKey] = JSON.parse(value)
      expect([payload.properties.delivery_tag, exchange, routingKey]).toEqual([tag, '', queue])
      await sleep(2100)
      const python = spawnPythonWorker(`${queue}-py`, [], {
        env: { BROKER_URL: broker.url, BROKER_VISIBILITY_TIMEOUT: '2' },
        logLevel: 'ERROR',
        showStderr: false,
      })
      try {
        await expect.poll(() => raw.llen(queue), { timeout: 30_000 }).toBe(1)
        const back = JSON.parse((await raw.lindex(queue, 0)) as string)
        expect(back.headers.id).toBe(taskId)
        expect(back.headers.redelivered).toBe(true)
        expect(back.properties.delivery_info.redelivered).toBe(true)
        expect(await raw.hlen(UNACKED)).toBe(0)
      } finally {
        await stopPythonWorker(python)
      }
    })
  },
)
