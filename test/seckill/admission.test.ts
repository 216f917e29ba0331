import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { productKeys } from '../../src/seckill/keys.ts'
import { dbKinds, startTestApp, type TestApp } from '../support/app.ts'
import { buy, createProduct, orders, remaining, rush, users, waitForOrders } from './support.ts'

describe.each(dbKinds)('flash sale admission (%s)', (db) => {
  let app: TestApp
  beforeAll(async () => {
    // Limits above what these tests send (20 attempts of one user at once must reach the admission script).
    app = await startTestApp({ db, env: { SECKILL_USER_LIMIT: '100', SECKILL_IP_LIMIT: '100000' } })
    await app.start(['worker'])
  })
  afterAll(() => app.close())

  it('400 users in 40 concurrent clients on stock 50: exactly 50 admitted, 50 orders, never negative', async () => {
    const id = await createProduct(app, { stock: 50 })
    const buyers = users(400, `rush${db}`)
    let lowest = Number.POSITIVE_INFINITY
    let rushing = true
    const sampler = (async () => {
      while (rushing) {
        lowest = Math.min(lowest, await remaining(app, id))
        await new Promise((r) => setTimeout(r, 5))
      }
    })()
    const answers = await rush(app, id, buyers, 40)
    rushing = false
    await sampler
    const admitted = answers.filter((a) => a.status === 202)
    expect(admitted).toHaveLength(50)
    expect(answers.filter((a) => a.status === 409 && a.code === 'sold_out')).toHaveLength(350)
    expect(lowest).toBeGreaterThanOrEqual(0)
    expect(await remaining(app, id)).toBe(0)

    const list = await waitForOrders(app, id, 50)
    expect(list).toHaveLength(50)
    expect(new Set(list.map((o) => o.userId))).toEqual(new Set(admitted.map((a) => a.userId)))
    expect(list.every((o) => o.productId === id)).toBe(true)
    // The worker ran every order task to SUCCESS, each naming its own order.
    const results = await Promise.all(admitted.map((a) => app.tasks.results.wait(a.taskId as string, 10_000)))
    const byUser = new Map(list.map((o) => [o.userId, o.id]))
    for (const [i, state] of results.entries()) {
      expect(state.status).toBe('SUCCESS')
      expect(state.result).toEqual({ orderId: byUser.get(admitted[i]?.userId as string) })
    }
    expect(await remaining(app, id)).toBe(0)
  })

  it('the same user 20 times at once: one admission, one order', async () => {
    const id = await createProduct(app, { stock: 10 })
    const answers = await Promise.all(Array.from({ length: 20 }, () => buy(app, id, 'twenty-times')))
    expect(answers.filter((r) => r.statusCode === 202)).toHaveLength(1)
    const refused = answers.filter((r) => r.statusCode === 409)
    expect(refused).toHaveLength(19)
    expect(refused.every((r) => r.json().error.code === 'already_purchased')).toBe(true)
    expect(await remaining(app, id)).toBe(9)
    expect((await waitForOrders(app, id, 1)).map((o) => o.userId)).toEqual(['twenty-times'])
    const again = await buy(app, id, 'twenty-times')
    expect(again.statusCode).toBe(409)
    expect(again.json().error.code).toBe('already_purchased')
  })

  it('the client flow: 202 {taskId}, then GET /api/tasks/:taskId until SUCCESS with {orderId}', async () => {
    const id = await createProduct(app, { stock: 3, price: 9.99 })
    const res = await buy(app, id, 'client-flow')
    expect(res.statusCode).toBe(202)
    const { taskId } = res.json()
    expect(typeof taskId).toBe('string')
    let state = (await app.http.inject({ method: 'GET', url: `/api/tasks/${taskId}` })).json()
    for (let i = 0; i < 200 && state.status !== 'SUCCESS'; i++) {
      expect(['PENDING', 'STARTED', 'SUCCESS']).toContain(state.status)
      await new Promise((r) => setTimeout(r, 25))
      state = (await app.http.inject({ method: 'GET', url: `/api/tasks/${taskId}` })).json()
    }
    expect(state.status).toBe('SUCCESS')
    const [order] = await orders(app, id)
    expect(state.result).toEqual({ orderId: order?.id })
    expect(order).toMatchObject({ productId: id, userId: 'client-flow' })
  })

  it('refuses outside the sale window: 403 not_started, 403 ended, admitted inside', async () => {
    const now = Date.now()
    const future = await createProduct(app, {
      stock: 5,
      startsAt: new Date(now + 3_600_000).toISOString(),
    })
    const past = await createProduct(app, {
      stock: 5,
      startsAt: new Date(now - 7_200_000).toISOString(),
      endsAt: new Date(now - 3_600_000).toISOString(),
    })
    const open = await createProduct(app, {
      stock: 5,
      startsAt: new Date(now - 60_000).toISOString(),
      endsAt: new Date(now + 3_600_000).toISOString(),
    })
    const early = await buy(app, future, 'w1')
    expect(early.statusCode).toBe(403)
    expect(early.json().error.code).toBe('not_started')
    const late = await buy(app, past, 'w1')
    expect(late.statusCode).toBe(403)
    expect(late.json().error.code).toBe('ended')
    expect((await buy(app, open, 'w1')).statusCode).toBe(202)
    // Nothing was taken by the refusals.
    expect(await remaining(app, future)).toBe(5)
    expect(await remaining(app, past)).toBe(5)
    expect(await remaining(app, open)).toBe(4)
  })

  it('opens the sale at startsAt, by Redis time', async () => {
    const id = await createProduct(app, { stock: 1, startsAt: new Date(Date.now() + 400).toISOString() })
    expect((await buy(app, id, 'opener')).json().error.code).toBe('not_started')
    await new Promise((r) => setTimeout(r, 500))
    expect((await buy(app, id, 'opener')).statusCode).toBe(202)
    expect((await buy(app, id, 'second')).json().error.code).toBe('sold_out')
  })

  it('404 product_not_found for an unknown product, answered without SQL', async () => {
    const before = app.queries.length
    const res = await buy(app, 987_654_321, 'nobody')
    expect(res.statusCode).toBe(404)
    expect(res.json().error.code).toBe('product_not_found')
    const page = await app.http.inject({ method: 'GET', url: '/api/products/987654321' })
    expect(page.statusCode).toBe(404)
    expect(page.json().error.code).toBe('product_not_found')
    // (The worker may still be writing orders of earlier tests, which count them on products: look for lookups only.)
    expect(app.queries.slice(before).filter((q) => /^select\b.*"products"/.test(q))).toEqual([])
  })

  it('the product page comes from Redis: stock, remaining, price, window', async () => {
    const startsAt = '2030-01-01T00:00:00.000Z'
    const id = await createProduct(app, { name: 'Phone', stock: 7, price: 1999.5, startsAt })
    const res = await app.http.inject({ method: 'GET', url: `/api/products/${id}` })
    expect(res.json()).toEqual({
      id,
      name: 'Phone',
      stock: 7,
      remaining: 7,
      price: 1999.5,
      startsAt,
      endsAt: null,
      createdAt: expect.any(String),
    })
  })

  it('bad input is a 400 naming the field, and changes nothing', async () => {
    const id = await createProduct(app, { stock: 2 })
    const cases = [
      { url: `/api/seckill/${id}`, payload: {}, field: 'body.userId' },
      { url: `/api/seckill/${id}`, payload: { userId: '' }, field: 'body.userId' },
      { url: `/api/seckill/${id}`, payload: { userId: 'x'.repeat(129) }, field: 'body.userId' },
      { url: `/api/seckill/${id}`, payload: { userId: 'a\nb' }, field: 'body.userId' },
      { url: `/api/seckill/${id}`, payload: { userId: 'ok', extra: 1 }, field: 'body' },
      { url: `/api/seckill/${id}`, payload: { userId: ['a', 'b'] }, field: 'body.userId' },
      { url: '/api/seckill/abc', payload: { userId: 'ok' }, field: 'params.productId' },
      { url: '/api/seckill/0', payload: { userId: 'ok' }, field: 'params.productId' },
    ]
    for (const c of cases) {
      const res = await app.http.inject({ method: 'POST', url: c.url, payload: c.payload })
      expect(res.statusCode, JSON.stringify(c)).toBe(400)
      expect(res.json().error.code).toBe('validation_failed')
      expect(res.json().error.field).toBe(c.field)
    }
    const notJson = await app.http.inject({
      method: 'POST',
      url: `/api/seckill/${id}`,
      headers: { 'content-type': 'application/json' },
      payload: '{"userId":',
    })
    expect(notJson.json().error.code).toBe('invalid_json')
    expect(await remaining(app, id)).toBe(2)

    const products = [
      { payload: { stock: 5 }, field: 'body.name' },
      { payload: { name: 'x', stock: -1 }, field: 'body.stock' },
      { payload: { name: 'x', stock: 1.5 }, field: 'body.stock' },
      { payload: { name: 'x', stock: 1, price: -3 }, field: 'body.price' },
      { payload: { name: 'x', stock: 1, startsAt: 'tomorrow' }, field: 'body.startsAt' },
      {
        payload: { name: 'x', stock: 1, startsAt: '2030-01-02T00:00:00Z', endsAt: '2030-01-01T00:00:00Z' },
        field: 'body.endsAt',
      },
    ]
    for (const c of products) {
      const res = await app.http.inject({
        method: 'POST',
        url: '/api/products',
        headers: app.auth,
        payload: c.payload,
      })
      expect(res.statusCode, JSON.stringify(c)).toBe(400)
      expect(res.json().error).toMatchObject({ code: 'validation_failed', field: c.field })
    }
  })

  it('admin routes need the token', async () => {
    const create = await app.http.inject({
      method: 'POST',
      url: '/api/products',
      payload: { name: 'x', stock: 1 },
    })
    expect(create.statusCode).toBe(401)
    expect(create.json().error.code).toBe('unauthorized')
    const list = await app.http.inject({ method: 'GET', url: '/api/orders?productId=1' })
    expect(list.statusCode).toBe(401)
  })

  it('rebuilds a product from SQL when Redis lost it: orders keep their place, remaining = stock - orders', async () => {
    const id = await createProduct(app, { stock: 5 })
    for (const user of ['r1', 'r2', 'r3']) expect((await buy(app, id, user)).statusCode).toBe(202)
    await waitForOrders(app, id, 3)
    const keys = productKeys(app.prefix, id)
    // Two DELs: the ready mark has no product hash tag (one DEL across slots is CROSSSLOT on Redis Cluster).
    await app.redis.del(keys.product, keys.buyers)
    await app.redis.del(`${app.prefix}:seckill:ready`)
    // The next request finds Redis without its ready mark and rebuilds from SQL before answering.
    expect(await remaining(app, id)).toBe(2)
    expect((await buy(app, id, 'r2')).json().error.code).toBe('already_purchased')
    expect((await buy(app, id, 'r4')).statusCode).toBe(202)
    expect((await buy(app, id, 'r5')).statusCode).toBe(202)
    expect((await buy(app, id, 'r6')).json().error.code).toBe('sold_out')
    expect((await waitForOrders(app, id, 5)).map((o) => o.userId).sort()).toEqual([
      'r1',
      'r2',
      'r3',
      'r4',
      'r5',
    ])
  })
})
