import { execFile } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { productKeys } from '../../src/seckill/keys.ts'
import { createReconciler, RECONCILE_TASK, type ReconcileReport } from '../../src/seckill/reconcile.ts'
import { createSeckillStores } from '../../src/seckill/stores.ts'
import { dbKinds, startTestApp, type TestApp } from '../support/app.ts'
import { buy, createProduct, orders, remaining, waitForOrders } from './support.ts'

const reconcilerOf = (app: TestApp, resendAfterMs: number) =>
  createReconciler({
    redis: app.redis,
    prefix: app.prefix,
    stores: createSeckillStores({ db: app.db, redis: app.redis, prefix: app.prefix }),
    producer: app.tasks.producer,
    results: app.tasks.results,
    log: app.http.log,
    resendAfterMs,
  })

/** A product with `bought` orders in SQL, every order task finished. */
async function productWithOrders(app: TestApp, stock: number, bought: string[]) {
  const id = await createProduct(app, { stock })
  const taskIds = new Map<string, string>()
  for (const user of bought) {
    const res = await buy(app, id, user)
    expect(res.statusCode).toBe(202)
    taskIds.set(user, res.json().taskId)
  }
  for (const taskId of taskIds.values()) {
    expect((await app.tasks.results.wait(taskId, 10_000)).status).toBe('SUCCESS')
  }
  return { id, taskIds, keys: productKeys(app.prefix, id) }
}

describe.each(dbKinds)('flash sale reconciliation (%s)', (db) => {
  let app: TestApp
  beforeAll(async () => {
    app = await startTestApp({ db })
    await app.start(['worker'])
  })
  afterAll(() => app.close())

  it('repairs injected drift: a deleted order, a lost task, a forgotten buyer, a wrong remaining', async () => {
    const { id, keys } = await productWithOrders(app, 10, ['a', 'b', 'c', 'd', 'e'])
    const before = new Map((await orders(app, id)).map((o) => [o.userId, o.id]))
    // An order row lost in SQL; an admission whose task never reached the broker (two minutes old);
    // a buyer Redis forgot although SQL has the order; and a remaining that says 9 instead of 4.
    await app.db.deleteFrom('orders').where('product_id', '=', id).where('user_id', '=', 'a').execute()
    const lostTask = randomUUID()
    const [seconds] = await app.redis.time()
    await app.redis.hset(keys.buyers, 'lost', `p|${Number(seconds) * 1000 - 120_000}|${lostTask}`)
    await app.redis.hdel(keys.buyers, 'b')
    await app.redis.hset(keys.product, 'remaining', 9)
    // While Redis forgets b, b could buy again: the repair must not let that happen after it ran.

    const report = await reconcilerOf(app, 0)({ productId: id })
    expect(report).toEqual<ReconcileReport>({
      products: 1,
      admitted: 5, // c, d, e, a and lost (b was forgotten)
      orders: 4, // b, c, d, e
      restoredProducts: 0,
      restoredBuyers: 1,
      resent: 2,
      drift: [{ productId: id, remainingBefore: 9, remainingAfter: 4 }],
      inFlight: 0,
    })
    const after = await waitForOrders(app, id, 6)
    expect(after.map((o) => o.userId).sort()).toEqual(['a', 'b', 'c', 'd', 'e', 'lost'])
    // Nobody got a second order; the untouched ones kept theirs.
    for (const user of ['b', 'c', 'd', 'e']) {
      expect(after.find((o) => o.userId === user)?.id).toBe(before.get(user))
    }
    // The lost task was sent under its own id: a client polling it sees the order.
    const state = await app.tasks.results.wait(lostTask, 10_000)
    expect(state).toMatchObject({
      status: 'SUCCESS',
      result: { orderId: after.find((o) => o.userId === 'lost')?.id },
    })
    expect(await remaining(app, id)).toBe(4)
    expect((await buy(app, id, 'b')).json().error.code).toBe('already_purchased')

    // A second run finds nothing to repair.
    const again = await reconcilerOf(app, 0)({ productId: id })
    expect(again).toMatchObject({ admitted: 6, orders: 6, resent: 0, restoredBuyers: 0, drift: [] })
  })

  it('leaves admissions younger than the grace period alone (their task may be in flight)', async () => {
    const { id, keys } = await productWithOrders(app, 5, ['x'])
    const [seconds] = await app.redis.time()
    await app.redis.hset(keys.buyers, 'fresh', `p|${Number(seconds) * 1000}|${randomUUID()}`)
    await app.redis.hincrby(keys.product, 'remaining', -1)
    const report = await reconcilerOf(app, 60_000)({ productId: id })
    expect(report).toMatchObject({ admitted: 2, orders: 1, resent: 0, inFlight: 1, drift: [] })
    expect((await orders(app, id)).map((o) => o.userId)).toEqual(['x'])
  })

  it('restores a product Redis lost, with its buyers, as a task run', async () => {
    const { id, keys } = await productWithOrders(app, 4, ['p', 'q'])
    await app.redis.del(keys.product, keys.buyers)
    const taskId = await app.tasks.producer.send(RECONCILE_TASK)
    const state = await app.tasks.results.wait(taskId, 15_000)
    expect(state.status).toBe('SUCCESS')
    expect(state.result).toMatchObject({ restoredProducts: 1, resent: 0 })
    expect(await remaining(app, id)).toBe(2)
    expect((await buy(app, id, 'q')).json().error.code).toBe('already_purchased')
  })
})

describe('flash sale reconciliation on a schedule and from the command line', () => {
  it('beat runs it every SECKILL_RECONCILE_SECONDS', async () => {
    const app = await startTestApp({ env: { SECKILL_RECONCILE_SECONDS: '1' } })
    try {
      await app.start(['worker', 'beat'])
      const { id, keys } = await productWithOrders(app, 6, ['m'])
      await app.redis.hset(keys.product, 'remaining', 0)
      const deadline = Date.now() + 20_000
      while ((await remaining(app, id)) !== 5 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 200))
      }
      expect(await remaining(app, id)).toBe(5)
    } finally {
      await app.close()
    }
  })

  it('`hotspot seckill reconcile` prints the report and re-sends a lost order', async () => {
    const app = await startTestApp()
    try {
      await app.start(['worker'])
      const { id, keys } = await productWithOrders(app, 3, ['k'])
      await app.db.deleteFrom('orders').where('product_id', '=', id).execute()
      const { stdout } = await promisify(execFile)(
        process.execPath,
        ['bin/hotspot.js', 'seckill', 'reconcile', String(id)],
        {
          env: {
            ...process.env,
            REDIS_URL: inject('redisUrl'),
            AMQP_URL: inject('amqpUrl'),
            DATABASE_URL: app.config.databaseUrl,
            CELERY_DEFAULT_QUEUE: app.config.tasks.defaultQueue,
            HOTSPOT_TASK_QUEUE: app.config.tasks.ownQueue,
            HOTSPOT_KEY_PREFIX: app.prefix, // the command reads the test app's Redis data
            SECKILL_RESEND_AFTER_SECONDS: '0',
            LOG_LEVEL: 'warn',
          },
        },
      )
      expect(JSON.parse(stdout)).toMatchObject({ products: 1, admitted: 1, orders: 0, resent: 1, drift: [] })
      expect((await waitForOrders(app, id, 1)).map((o) => o.userId)).toEqual(['k'])
      expect(await app.redis.hlen(keys.buyers)).toBe(1)
    } finally {
      await app.close()
    }
  })
})
