import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { Cluster } from 'ioredis'
import { afterAll, describe, expect, inject, it } from 'vitest'
import { type RunningServer, startRabbitMQ } from '../../src/infra/local-servers.ts'
import { startTestApp, type TestApp } from '../support/app.ts'
import { startWorkerProcess } from './support/start-worker-process.ts'

/** Result states one GET per id: on Redis Cluster the ids' keys hash to different slots (an MGET would be CROSSSLOT). */
const taskStates = (app: TestApp, ids: string[]) =>
  Promise.all(ids.map((id) => app.redis.get(`celery-task-meta-${id}`)))

/** KEYS asks one node; on Redis Cluster ask every master (test-only: production code never lists keys). */
async function countKeys(app: TestApp, pattern: string): Promise<number> {
  const nodes = app.redis instanceof Cluster ? app.redis.nodes('master') : [app.redis]
  const found = await Promise.all(nodes.map((node) => node.keys(pattern)))
  return found.reduce((sum, keys) => sum + keys.length, 0)
}

const until = async (check: () => Promise<boolean>, timeoutMs: number) => {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not reached in time')
    await new Promise((r) => setTimeout(r, 100))
  }
}

describe('task system faults', () => {
  const cleanups: (() => Promise<unknown>)[] = []
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {})
  })

  it('a worker killed with SIGKILL in the middle of 2 000 tasks: after a restart every task has SUCCESS and every effect happened once', async () => {
    const app = await startTestApp()
    cleanups.push(() => app.close())
    const ids = await Promise.all(Array.from({ length: 2000 }, () => app.tasks.producer.send('test.effect')))
    const first = await startWorkerProcess(app, inject('amqpUrl'))
    await until(async () => (await app.redis.hlen(`${app.prefix}:runs`)) >= 400, 60_000)
    first.kill('SIGKILL')
    await new Promise((r) => first.once('exit', r))
    const doneBeforeKill = await app.redis.hlen(`${app.prefix}:effects`)
    expect(doneBeforeKill).toBeLessThan(2000)

    const second = await startWorkerProcess(app, inject('amqpUrl'))
    cleanups.push(async () => second.kill('SIGTERM'))
    await until(async () => (await app.redis.hlen(`${app.prefix}:effects`)) === 2000, 120_000)
    await until(async () => {
      const states = await taskStates(app, ids)
      return states.every((s) => s !== null && JSON.parse(s).status === 'SUCCESS')
    }, 30_000)
    const runs = Object.values(await app.redis.hgetall(`${app.prefix}:runs`)).map(Number)
    expect(runs).toHaveLength(2000)
    expect(runs.every((n) => n >= 1)).toBe(true)
    expect(await app.redis.hlen(`${app.prefix}:effects`)).toBe(2000)
  }, 240_000)

  it('RabbitMQ restarted under load: producer and worker reconnect by themselves and no confirmed task is lost', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hotspot-rabbit-fault-'))
    let broker: RunningServer = await startRabbitMQ({ dir })
    const port = Number(new URL(broker.url).port)
    cleanups.push(async () => {
      await broker.stop()
      fs.rmSync(dir, { recursive: true, force: true })
    })
    const app = await startTestApp({ amqpUrl: broker.url })
    cleanups.push(() => app.close())
    await app.start(['worker'])

    const confirmed: string[] = []
    let rejected = 0
    const sendBatch = () =>
      Promise.all(
        Array.from({ length: 100 }, () =>
          app.tasks.producer.send('hotspot.add', [1, 2]).then(
            (id) => confirmed.push(id),
            () => rejected++,
          ),
        ),
      )
    await sendBatch()
    const load = (async () => {
      for (let i = 0; i < 12; i++) {
        await sendBatch()
        await new Promise((r) => setTimeout(r, 250))
      }
    })()
    await new Promise((r) => setTimeout(r, 400))
    await broker.stop()
    broker = await startRabbitMQ({ dir, port })
    await load
    // After the restart the producer works again without any help.
    confirmed.push(await app.tasks.producer.send('hotspot.add', [1, 2]))
    await until(async () => {
      const states = await taskStates(app, confirmed)
      return states.every((s) => s !== null && JSON.parse(s).status === 'SUCCESS')
    }, 90_000)
    expect(confirmed.length).toBeGreaterThan(100)
    expect(confirmed.length + rejected).toBe(1301) // every send either confirmed or failed loudly
  }, 240_000)

  it('two beats: exactly one fires each tick, and the standby takes over when the leader stops', async () => {
    const queue = `beat-test-${Date.now()}`
    const a = await startTestApp({ beatLockTtlMs: 1500 })
    const b = await startTestApp({ keyPrefix: a.prefix, beatLockTtlMs: 1500 })
    cleanups.push(
      () => a.close(),
      () => b.close(),
    )
    for (const app of [a, b])
      app.tasks.beat.add({ name: 'tick', everySeconds: 1, task: 'hotspot.ping', queue })
    // Declared before the clock starts: creating a quorum queue (a Raft group on every node) can take seconds on
    // a busy machine, and ticks missed meanwhile are skipped by design, not fired late.
    await Promise.all([a.tasks.broker.ensureQueue(queue), b.tasks.broker.ensureQueue(queue)])
    await Promise.all([a.start(['beat']), b.start(['beat'])])
    const depth = async () =>
      (await a.amqp.queueDeclare({ queue, passive: true }).catch(() => ({ messageCount: 0 }))).messageCount
    const firedKeys = () => countKeys(a, `${a.prefix}:beat:fired:tick:*`)

    await new Promise((r) => setTimeout(r, 4500))
    expect([a.tasks.beat.isLeader(), b.tasks.beat.isLeader()].filter(Boolean)).toHaveLength(1)
    const fired = await depth()
    expect(fired).toBeGreaterThanOrEqual(2) // a loaded machine may delay a tick
    expect(fired).toBeLessThanOrEqual(6) // one per second (two beats firing would give ~9)

    const [leader, standby] = a.tasks.beat.isLeader() ? [a, b] : [b, a]
    await leader.tasks.beat.stop()
    await until(async () => standby.tasks.beat.isLeader(), 5000)
    const before = await depth()
    await new Promise((r) => setTimeout(r, 2500))
    await standby.tasks.beat.stop() // waits for a tick in flight: every claimed tick is now published
    expect(await depth()).toBeGreaterThan(before)
    // One message per claimed tick over the whole run, hand-over included: no tick fired twice.
    expect(await firedKeys()).toBe(await depth())
  }, 60_000)
})
