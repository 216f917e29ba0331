/**
 * BROKER_URL=redis:// and no AMQP_URL: nothing needs RabbitMQ. Tasks on the Redis broker, the events bus on Redis
 * pub/sub, /readyz and doctor without a RabbitMQ check, and `hotspot start` starts no RabbitMQ node.
 */
import { spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { loadConfig } from '../../../src/config.ts'
import { runDoctor } from '../../../src/doctor/index.ts'
import { freePort } from '../../../src/infra/local-servers.ts'
import { freshDatabaseUrl, onCluster, startTestApp, type TestApp } from '../../support/app.ts'
import { startPrivateRedis } from '../support/private-redis.ts'

describe.skipIf(onCluster)('Redis-only deployment', () => {
  let broker: Awaited<ReturnType<typeof startPrivateRedis>>
  let a: TestApp
  let b: TestApp

  beforeAll(async () => {
    broker = await startPrivateRedis()
    const redisOnly = { amqpUrl: undefined, env: { BROKER_URL: broker.url } }
    a = await startTestApp(redisOnly)
    b = await startTestApp(redisOnly)
    await a.start(['worker'])
    await b.start(['api'])
  })
  afterAll(async () => {
    await a?.close()
    await b?.close()
    await broker?.stop()
  })

  it('runs tasks with no RabbitMQ connection at all', async () => {
    expect(a.amqp).toBeUndefined()
    const taskId = await b.tasks.producer.send(
      'hotspot.add',
      [2, 3],
      {},
      { queue: a.config.tasks.defaultQueue },
    )
    expect(await b.tasks.results.wait(taskId, 20_000)).toEqual({ taskId, status: 'SUCCESS', result: 5 })
  })

  it('the events bus reaches every process through Redis pub/sub', async () => {
    const topic = `t-${randomUUID()}`
    const heard: unknown[] = []
    a.tasks.events.on(topic, (p) => heard.push(p))
    await b.tasks.events.publish(topic, { n: 1 })
    await expect.poll(() => heard).toEqual([{ n: 1 }])
  })

  it('/readyz checks Redis, the Redis broker and the database, no RabbitMQ', async () => {
    const res = await b.http.inject({ method: 'GET', url: '/readyz' })
    expect(res.statusCode).toBe(200)
    expect(res.json()).toEqual({ status: 'ready', checks: { redis: 'ok', broker: 'ok', db: 'ok' } })
  })

  it('a failing task is dead-lettered in the Redis list, listed and replayed', async () => {
    const taskId = await b.tasks.producer.send(
      'hotspot.fail',
      ['no'],
      {},
      { queue: a.config.tasks.defaultQueue },
    )
    expect((await b.tasks.results.wait(taskId, 20_000)).status).toBe('FAILURE')
    await expect
      .poll(async () => (await b.tasks.broker.listDeadLetters()).find((d) => d.taskId === taskId))
      .toMatchObject({ task: 'hotspot.fail', reason: 'permanent_error', queue: a.config.tasks.defaultQueue })
    const res = await b.http.inject({
      method: 'POST',
      url: '/api/admin/dead-letters/replay',
      headers: b.auth,
      payload: { taskIds: [taskId] },
    })
    expect(res.json()).toEqual({ replayed: [taskId] })
    // Replayed: it fails again and is dead-lettered again, once.
    await expect
      .poll(async () => (await b.tasks.broker.listDeadLetters()).filter((d) => d.taskId === taskId).length)
      .toBe(1)
  })

  it('doctor says RabbitMQ is not needed and checks the broker', async () => {
    const lines: string[] = []
    const config = loadConfig({
      REDIS_URL: inject('redisUrl'),
      BROKER_URL: broker.url,
      DATABASE_URL: await freshDatabaseUrl('sqlite'),
      HOTSPOT_KEY_PREFIX: `doc${randomUUID().slice(0, 6)}`,
    })
    await runDoctor(config, (l) => lines.push(l))
    expect(lines.find((l) => l.includes(' rabbitmq:'))).toMatch(/^ok .*not needed/)
    expect(lines.find((l) => l.includes(' broker:'))).toMatch(/^ok .*Redis broker/)
  })

  it('`hotspot start` starts no RabbitMQ node and runs a task sent over HTTP', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hotspot-redis-only-'))
    const prefix = `ro${randomUUID().slice(0, 6)}`
    const port = await freePort()
    const { AMQP_URL: _none, ...env } = process.env
    const child = spawn(process.execPath, ['bin/hotspot.js', 'start'], {
      env: {
        ...env,
        REDIS_URL: inject('redisUrl'),
        BROKER_URL: broker.url,
        DATABASE_URL: path.join(dir, 'db.sqlite'),
        HOTSPOT_DATA_DIR: dir,
        HOTSPOT_KEY_PREFIX: prefix,
        HOTSPOT_ADMIN_TOKEN: 'redis-only-admin-token-0123456789',
        CELERY_DEFAULT_QUEUE: `${prefix}.celery`,
        HOTSPOT_TASK_QUEUE: `${prefix}.hotspot`,
        PORT: String(port),
        GRPC_PORT: String(await freePort()),
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let output = ''
    child.stdout.on('data', (d: Buffer) => (output += d.toString()))
    child.stderr.on('data', (d: Buffer) => (output += d.toString()))
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve))
    try {
      await expect.poll(() => output, { timeout: 90_000, interval: 200 }).toContain('data dir') // the last start-up line
      expect(output).toContain('ready on')
      expect(output).toContain('RabbitMQ  none')
      expect(fs.readdirSync(dir).filter((f) => /rabbit/i.test(f))).toEqual([])
      const headers = {
        authorization: 'Bearer redis-only-admin-token-0123456789',
        'content-type': 'application/json',
      }
      const sent = await fetch(`http://127.0.0.1:${port}/api/tasks`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ name: 'hotspot.add', args: [20, 22] }),
        signal: AbortSignal.timeout(10_000),
      })
      expect(sent.status).toBe(202)
      const { taskId } = (await sent.json()) as { taskId: string }
      await expect
        .poll(
          async () =>
            (await (
              await fetch(`http://127.0.0.1:${port}/api/tasks/${taskId}`, {
                signal: AbortSignal.timeout(5000),
              })
            ).json()) as unknown,
          { timeout: 20_000 },
        )
        .toMatchObject({ status: 'SUCCESS', result: 42 })
    } finally {
      child.kill('SIGTERM')
      await exited
      fs.rmSync(dir, { recursive: true, force: true })
    }
  }, 120_000)
})
