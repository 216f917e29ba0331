/**
 * A task message that kills every worker it reaches (out of memory, a native crash, kill -9 on a hang) is
 * dead-lettered after WORKER_MAX_DELIVERIES runs that never finished, on classic RabbitMQ queues and on the Redis
 * broker (neither counts deliveries; quorum queues do, up to the broker's own limit), instead of looping forever.
 */
import type { ChildProcess } from 'node:child_process'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import type { BrokerKind } from '../../src/tasks/broker/types.ts'
import { onCluster, startTestApp, type TestApp } from '../support/app.ts'
import { startPrivateRedis } from './support/private-redis.ts'
import { startWorkerProcess } from './support/start-worker-process.ts'

const MAX_DELIVERIES = 3
const brokers: BrokerKind[] = onCluster ? ['amqp'] : ['amqp', 'redis']

/** Resolves with how the worker ended, or 'alive' if it still runs after `ms`. */
const outcome = (child: ChildProcess, ms: number) =>
  new Promise<string>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) {
      resolve(child.signalCode ?? String(child.exitCode))
      return
    }
    const timer = setTimeout(() => resolve('alive'), ms)
    child.once('exit', (code, signal) => {
      clearTimeout(timer)
      resolve(signal ?? String(code))
    })
  })

describe.each(brokers)('a message that crashes its worker (%s broker)', (kind) => {
  let app: TestApp
  let broker: Awaited<ReturnType<typeof startPrivateRedis>> | undefined
  const workers: ChildProcess[] = []
  let env: Record<string, string> = {}
  beforeAll(async () => {
    broker = kind === 'redis' ? await startPrivateRedis() : undefined
    // Redis: a short visibility timeout, so a dead worker's message comes back within a second or two.
    env = broker ? { BROKER_URL: broker.url, BROKER_VISIBILITY_TIMEOUT: '1' } : {}
    app = await startTestApp(broker ? { amqpUrl: undefined, env } : {})
    expect(app.tasks.broker.kind).toBe(kind)
  })
  const stopWorkers = () =>
    Promise.all(
      workers.splice(0).map(async (w) => {
        if (w.exitCode !== null || w.signalCode !== null) return
        const exited = new Promise((r) => w.once('exit', r))
        w.kill('SIGKILL')
        await exited
      }),
    )
  afterAll(async () => {
    await stopWorkers()
    await app?.close()
    await broker?.stop()
  })

  const startWorker = async () => {
    const worker = await startWorkerProcess(app, inject('amqpUrl'), {
      ...env,
      WORKER_MAX_DELIVERIES: String(MAX_DELIVERIES),
    })
    workers.push(worker)
    return worker
  }

  it(`runs it ${MAX_DELIVERIES} times, then dead-letters it (delivery_limit, WorkerLostError) and goes on working`, async () => {
    const queue = app.config.tasks.ownQueue
    const taskId = await app.tasks.producer.send('test.crash', [], {}, { queue })
    // Each worker takes the message and dies with it, until one dead-letters it and lives on. A worker may die
    // before it reports ready (it consumes first): that is the same ending.
    const endings: string[] = []
    let worker: ChildProcess | undefined
    for (let starts = 0; starts < MAX_DELIVERIES + 3; starts++) {
      worker = await startWorker().catch(() => undefined)
      const ended = worker ? await outcome(worker, kind === 'redis' ? 8000 : 5000) : 'SIGKILL'
      endings.push(ended)
      if (ended === 'alive') break
    }
    expect(endings).toEqual([...Array(MAX_DELIVERIES).fill('SIGKILL'), 'alive'])
    expect(Number(await app.redis.hget(`${app.prefix}:runs`, taskId))).toBe(MAX_DELIVERIES)

    const dead = (await app.tasks.broker.listDeadLetters(100)).filter((d) => d.taskId === taskId)
    expect(dead).toMatchObject([{ taskId, reason: 'delivery_limit', task: 'test.crash' }])
    const meta = JSON.parse((await app.redis.get(`celery-task-meta-${taskId}`)) as string)
    expect(meta.status).toBe('FAILURE')
    expect(meta.result).toMatchObject({ exc_type: 'WorkerLostError', exc_module: 'billiard.exceptions' })

    // The surviving worker works: a normal task runs once and succeeds.
    const next = await app.tasks.producer.send('test.effect', [], {}, { queue })
    expect((await app.tasks.results.wait(next, 15_000)).status).toBe('SUCCESS')
    expect(worker && (await outcome(worker, 500))).toBe('alive')
  }, 90_000)

  it('a task whose worker died once runs again and succeeds: no false dead letter', async () => {
    const queue = app.config.tasks.ownQueue
    await stopWorkers()
    const doomed = await startWorkerProcess(app, inject('amqpUrl'), { ...env, HANG: '1' })
    workers.push(doomed)
    const taskId = await app.tasks.producer.send('test.effect', [], {}, { queue })
    await expect.poll(() => app.redis.hget(`${app.prefix}:runs`, taskId), { timeout: 15_000 }).toBe('1')
    doomed.kill('SIGKILL')
    await startWorker()
    expect((await app.tasks.results.wait(taskId, 20_000)).status).toBe('SUCCESS')
    expect(Number(await app.redis.hget(`${app.prefix}:runs`, taskId))).toBe(2)
    expect((await app.tasks.broker.listDeadLetters(100)).filter((d) => d.taskId === taskId)).toEqual([])
  }, 60_000)
})
