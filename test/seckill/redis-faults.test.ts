import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type RunningServer, startRedis } from '../../src/infra/local-servers.ts'
import { startTestApp, type TestApp } from '../support/app.ts'
import { buy, createProduct, remaining, waitForOrders } from './support.ts'

/** A Redis of its own, stopped and started again (AOF keeps the sale). */
describe('flash sale when Redis fails', () => {
  let dir: string
  let redis: RunningServer
  let app: TestApp

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hotspot-seckill-redis-'))
    redis = await startRedis({ dir })
    app = await startTestApp({ redisUrl: redis.url })
    await app.start(['worker'])
  })
  afterAll(async () => {
    await app.close()
    await redis.stop()
    fs.rmSync(dir, { recursive: true, force: true })
  })

  it('Redis down: buying and the product page answer 503 unavailable; back up: the sale goes on where it was', async () => {
    const id = await createProduct(app, { stock: 3 })
    expect((await buy(app, id, 'before')).statusCode).toBe(202)
    await waitForOrders(app, id, 1)
    const port = Number(new URL(redis.url).port)
    await redis.stop()
    const down = await buy(app, id, 'during')
    expect(down.statusCode).toBe(503)
    expect(down.json().error.code).toBe('unavailable')
    const page = await app.http.inject({ method: 'GET', url: `/api/products/${id}` })
    expect(page.statusCode).toBe(503)
    redis = await startRedis({ dir, port })
    let res = await buy(app, id, 'after')
    for (let i = 0; i < 50 && res.statusCode === 503; i++) {
      await new Promise((r) => setTimeout(r, 100))
      res = await buy(app, id, 'after')
    }
    expect(res.statusCode).toBe(202)
    expect((await buy(app, id, 'before')).json().error.code).toBe('already_purchased')
    expect(await remaining(app, id)).toBe(1)
    expect((await waitForOrders(app, id, 2)).map((o) => o.userId).sort()).toEqual(['after', 'before'])
  })

  it('handles NOSCRIPT after SCRIPT FLUSH', async () => {
    const id = await createProduct(app, { stock: 2 })
    await app.redis.script('FLUSH')
    expect((await buy(app, id, 'flushed')).statusCode).toBe(202)
    expect(await remaining(app, id)).toBe(1)
  })
})
