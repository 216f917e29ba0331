/**
 * Faults on the Redis broker (kombu's transport, Redis-only): the broker Redis killed with SIGKILL (AOF with
 * appendfsync always, so every acknowledged write is on disk) and a worker killed with SIGKILL, both in the middle
 * of a load with poison messages in it. Every accepted task is done, its effect once; the poison is dead-lettered
 * once, not looped.
 */
import type { ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { Redis } from 'ioredis'
import { afterAll, describe, expect, inject, it } from 'vitest'
import { type RunningServer, startRedis } from '../../../src/infra/local-servers.ts'
import { UNACKED } from '../../../src/tasks/broker/redis/kombu.ts'
import { onCluster, startTestApp, type TestApp } from '../../support/app.ts'
import { startWorkerProcess } from '../support/start-worker-process.ts'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const AOF_ALWAYS = ['--appendfsync', 'always']

/** Resolves once nothing accepts connections on the port (the killed server is gone). */
async function portClosed(port: number) {
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1')
      socket.once('connect', () => {
        socket.destroy()
        resolve(true)
      })
      socket.once('error', () => resolve(false))
    })
    if (!open) return
    await sleep(50)
  }
}

describe.skipIf(onCluster)('Redis broker faults', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hotspot-redis-broker-faults-'))
  const workers: ChildProcess[] = []
  let broker: RunningServer | undefined
  let app: TestApp | undefined
  let client: Redis | undefined
  afterAll(async () => {
    client?.disconnect()
    for (const w of workers) if (w.exitCode === null && w.signalCode === null) w.kill('SIGKILL')
    await app?.close()
    await broker?.stop()
    fs.rmSync(dir, { recursive: true, force: true })
  })

  it('kill -9 of the broker Redis and of a worker mid-load: every accepted task done, each effect once, poison dead-lettered once', async () => {
    broker = await startRedis({ dir, extraArgs: AOF_ALWAYS })
    const url = broker.url
    const port = Number(new URL(url).port)
    const env = { BROKER_URL: url, BROKER_VISIBILITY_TIMEOUT: '2' }
    app = await startTestApp({ amqpUrl: undefined, env })
    const { producer } = app.tasks
    const queue = app.config.tasks.defaultQueue
    client = new Redis(url, { commandTimeout: 5000 }) // reconnects after the restart
    client.on('error', () => {}) // the broker is down on purpose for a while
    const accepted: string[] = []
    let refused = 0
    const send = (n: number) =>
      Promise.all(
        Array.from({ length: n }, () =>
          producer.send('test.effect', [], {}, { queue }).then(
            (id) => accepted.push(id),
            () => refused++,
          ),
        ),
      )

    await send(2000)
    // Poison in the queue: not a kombu envelope, and an envelope whose task body is not JSON.
    await client.lpush(queue, 'not an envelope {')
    const badBody = JSON.stringify({
      body: Buffer.from('{"not": json').toString('base64'),
      'content-encoding': 'utf-8',
      'content-type': 'application/json',
      headers: { task: 'test.effect', id: 'poison-body' },
      properties: {
        delivery_info: { exchange: '', routing_key: queue },
        body_encoding: 'base64',
        delivery_tag: 'p1',
      },
    })
    await client.lpush(queue, badBody)

    // Two handlers, 20 prefetched: it is in the middle of the load, holding unacked messages, when it dies.
    const first = await startWorkerProcess(app, inject('amqpUrl'), {
      ...env,
      WORKER_CONCURRENCY: '2',
      WORKER_PREFETCH: '20',
    })
    workers.push(first)
    await expect
      .poll(() => app?.redis.hlen(`${app.prefix}:runs`), { timeout: 60_000 })
      .toBeGreaterThanOrEqual(300)

    // More load while the broker dies under it: the sends it answered are accepted, the others refused (a client
    // would get 503).
    const during = (async () => {
      for (let i = 0; i < 10; i++) {
        await send(30)
        await sleep(30)
      }
    })()
    await sleep(100)
    process.kill(broker.pid, 'SIGKILL')
    await portClosed(port)
    first.kill('SIGKILL') // the worker too, holding unacked messages
    await new Promise((r) => first.once('exit', r))
    await during
    broker = await startRedis({ dir, port, extraArgs: AOF_ALWAYS })
    await expect.poll(() => app?.tasks.broker.ping(), { timeout: 30_000 }).toBe(true)
    await send(100) // the producer reconnected by itself
    // The killed worker's messages survived the broker's kill (AOF): taken, unacked, to be restored.
    const held = await client.hlen(UNACKED)
    expect(held).toBeGreaterThan(0)

    const second = await startWorkerProcess(app, inject('amqpUrl'), env)
    workers.push(second)
    const effects = async (): Promise<Record<string, string>> =>
      (await app?.redis.hgetall(`${app?.prefix}:effects`)) ?? {}
    const missing = async () => {
      const done = await effects()
      return accepted.filter((id) => !(id in done)).length
    }
    await expect.poll(missing, { timeout: 120_000 }).toBe(0)
    expect(accepted.length).toBeGreaterThanOrEqual(2100)
    expect(accepted.length + refused).toBe(2400)
    // Effects are set once (HSETNX): the ones of accepted tasks are all there, and nothing ran without a send.
    const runs = await app.redis.hgetall(`${app.prefix}:runs`)
    for (const id of accepted) expect(Number(runs[id])).toBeGreaterThanOrEqual(1)
    expect(Object.keys(await effects()).length).toBeLessThanOrEqual(2400)
    const states = await Promise.all(accepted.map((id) => app?.redis.get(`celery-task-meta-${id}`)))
    expect(states.filter((state) => JSON.parse(state as string).status !== 'SUCCESS')).toEqual([])

    // The two poison messages: dead-lettered once each, the queue drained, nothing left unacked or looping.
    const dead = await app.tasks.broker.listDeadLetters(100)
    const poisoned = dead.filter((d) => d.queue === queue)
    expect(poisoned).toHaveLength(2)
    expect(poisoned.find((d) => d.taskId === 'poison-body')?.reason).toBe('invalid_json')
    await sleep(2500) // past the visibility timeout: a restore would bring a looped message back now
    expect(await client.llen(queue)).toBe(0)
    expect(await client.hlen(UNACKED)).toBe(0)
    expect((await app.tasks.broker.listDeadLetters(100)).filter((d) => d.queue === queue)).toHaveLength(2)
  }, 300_000)
})
