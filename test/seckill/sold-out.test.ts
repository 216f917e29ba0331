import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { limiterKey } from '../../src/ratelimit/keys.ts'
import { productKeys } from '../../src/seckill/keys.ts'
import { RECONCILE_TASK } from '../../src/seckill/reconcile.ts'
import { freshDatabaseUrl, startTestApp, type TestApp } from '../support/app.ts'
import { buy, createProduct, remaining } from './support.ts'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Attempts of a user the buy limiter holds in its window (src/seckill/limits.ts keys). */
const limiterLog = (app: TestApp, userId: string) =>
  app.redis.llen(limiterKey(`${app.prefix}:rl`, `sk-user:${userId}`))

describe('a product known sold out is refused from process memory', () => {
  let a: TestApp
  let b: TestApp
  beforeAll(async () => {
    // Two API processes of one deployment; a long trust, so only a restock event can make them ask Redis again.
    const databaseUrl = await freshDatabaseUrl('sqlite')
    const env = { SECKILL_USER_LIMIT: '2', SECKILL_SOLD_OUT_TRUST_MS: '60000' }
    a = await startTestApp({ databaseUrl, env })
    b = await startTestApp({ databaseUrl, env, keyPrefix: a.prefix })
    await Promise.all([a.start(['api']), b.start(['api', 'worker'])])
  })
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()])
  })

  it('before the limiter and without Redis: more attempts than the user limit all answer 409 sold_out', async () => {
    const id = await createProduct(a, { stock: 1 })
    expect((await buy(a, id, 'first')).statusCode).toBe(202)
    const refused = await buy(a, id, 'late') // Redis says sold out: remembered
    expect(refused.statusCode).toBe(409)
    expect(await limiterLog(a, 'late')).toBe(1)
    // Twice the per-user limit: the limiter is never asked, so none of these is a 429 and none is counted.
    const answers = []
    for (let i = 0; i < 4; i++) answers.push(await buy(a, id, 'late'))
    expect(answers.map((r) => [r.statusCode, r.json().error.code])).toEqual(
      Array.from({ length: 4 }, () => [409, 'sold_out']),
    )
    expect(await limiterLog(a, 'late')).toBe(1)
    expect(await remaining(a, id)).toBe(0)
  })

  it('a restock in another process (reconciliation) reaches this one at once: the unit is sold again, once', async () => {
    const id = await createProduct(a, { stock: 2 })
    expect((await buy(a, id, 'buyer-1')).statusCode).toBe(202)
    // A unit leaked (remaining 0 while one is free): both processes learn "sold out" from Redis.
    await a.redis.hset(productKeys(a.prefix, id).product, 'remaining', 0)
    expect((await buy(a, id, 'waiting-a')).json().error.code).toBe('sold_out')
    expect((await buy(b, id, 'waiting-b')).json().error.code).toBe('sold_out')
    // Process b's reconciliation gives the unit back (remaining = stock - admissions) and says so.
    const task = await b.tasks.producer.send(RECONCILE_TASK)
    expect((await b.tasks.results.wait(task, 15_000)).status).toBe('SUCCESS')
    // Process a heard it: it asks Redis again, well within its 60 s trust, and exactly one buyer gets the unit.
    const deadline = Date.now() + 10_000
    let admitted = 0
    for (let n = 0; admitted === 0 && Date.now() < deadline; n++) {
      if ((await buy(a, id, `after-${n}`)).statusCode === 202) admitted++
      else await sleep(20)
    }
    expect(admitted).toBe(1)
    const after = await Promise.all(Array.from({ length: 20 }, (_, i) => buy(a, id, `more-${i}`)))
    expect(after.map((r) => r.statusCode)).toEqual(Array.from({ length: 20 }, () => 409))
    expect(await remaining(a, id)).toBe(0)
  })
})
