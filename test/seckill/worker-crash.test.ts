import { type ChildProcess, spawn } from 'node:child_process'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import type { BrokerKind } from '../../src/tasks/broker/types.ts'
import { type DbKind, dbKinds, onCluster, startTestApp, type TestApp } from '../support/app.ts'
import { startPrivateRedis } from '../tasks/support/private-redis.ts'
import { createProduct, remaining, rush, users, waitForOrders } from './support.ts'

/** Redis broker runs: Redis-only (no RabbitMQ), a short visibility timeout so a killed worker's tasks come back soon. */
const redisBrokerEnv = (url: string) => ({ BROKER_URL: url, BROKER_VISIBILITY_TIMEOUT: '2' })

/** `hotspot worker` in a child process, slowed down (2 handlers) so a kill lands in the middle of the orders. */
function startWorkerProcess(app: TestApp, brokerUrl?: string): Promise<ChildProcess> {
  const { AMQP_URL: _own, ...env } = process.env
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/seckill/worker-process.ts'], {
    env: {
      ...env,
      KEY_PREFIX: app.prefix,
      REDIS_URL: inject('redisUrl'),
      ...(brokerUrl ? redisBrokerEnv(brokerUrl) : { AMQP_URL: inject('amqpUrl') }),
      DATABASE_URL: app.config.databaseUrl,
      CELERY_DEFAULT_QUEUE: app.config.tasks.defaultQueue,
      HOTSPOT_TASK_QUEUE: app.config.tasks.ownQueue,
      WORKER_CONCURRENCY: '2',
      WORKER_PREFETCH: '20',
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  return new Promise((resolve, reject) => {
    child.stdout?.on('data', (d: Buffer) => {
      if (d.toString().includes('ready')) resolve(child)
    })
    child.once('exit', (code) => reject(new Error(`worker exited with ${code}`)))
  })
}

// Every SQL engine on RabbitMQ; the Redis broker (kombu's transport, visibility timeout) on SQLite.
const cases: [DbKind, BrokerKind][] = [
  ...dbKinds.map((db): [DbKind, BrokerKind] => [db, 'amqp']),
  ...(onCluster ? [] : [['sqlite', 'redis'] as [DbKind, BrokerKind]]),
]

describe.each(cases)('flash sale orders when the worker is killed (%s, %s broker)', (db, kind) => {
  let app: TestApp
  let worker: ChildProcess | undefined
  let broker: Awaited<ReturnType<typeof startPrivateRedis>> | undefined
  beforeAll(async () => {
    broker = kind === 'redis' ? await startPrivateRedis() : undefined
    app = await startTestApp(broker ? { db, amqpUrl: undefined, env: redisBrokerEnv(broker.url) } : { db })
    expect(app.tasks.broker.kind).toBe(kind)
  })
  afterAll(async () => {
    worker?.kill('SIGKILL')
    await app.close()
    await broker?.stop()
  })

  const orderCount = async (productId: number) =>
    Number(
      (
        await app.db
          .selectFrom('orders')
          .select((eb) => eb.fn.countAll().as('n'))
          .where('product_id', '=', productId)
          .executeTakeFirstOrThrow()
      ).n,
    )

  it('kill -9 in the middle of 300 orders: after a restart every admitted order exists exactly once', async () => {
    const id = await createProduct(app, { stock: 300 })
    // The tasks wait in the broker while no worker runs, so the worker starts with a full queue.
    const answers = await rush(app, id, users(300, `crash-${db}-${kind}`), 30)
    const admitted = answers.filter((a) => a.status === 202)
    expect(admitted).toHaveLength(300)

    worker = await startWorkerProcess(app, broker?.url)
    while ((await orderCount(id)) < 20) await new Promise((r) => setTimeout(r, 5))
    worker.kill('SIGKILL')
    await new Promise((r) => worker?.once('exit', r))
    worker = undefined
    expect(await orderCount(id)).toBeLessThan(300)

    // Another worker: the killed one's unacknowledged messages come back to it (on Redis after the visibility
    // timeout, restored by this worker).
    await app.start(['worker'])
    const list = await waitForOrders(app, id, 300, 150_000)
    expect(list).toHaveLength(300)
    expect(new Set(list.map((o) => o.userId))).toEqual(new Set(admitted.map((a) => a.userId)))
    const byUser = new Map(list.map((o) => [o.userId, o.id]))
    const states = await Promise.all(admitted.map((a) => app.tasks.results.wait(a.taskId as string, 20_000)))
    for (const [i, state] of states.entries()) {
      expect(state.status).toBe('SUCCESS')
      expect(state.result).toEqual({ orderId: byUser.get(admitted[i]?.userId as string) })
    }
    expect(await remaining(app, id)).toBe(0)
  }, 240_000) // a worker process start, a kill and 300 orders: slow on a loaded 2-core machine
})
