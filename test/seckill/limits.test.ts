import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestApp, type TestApp } from '../support/app.ts'
import { buy, createProduct, remaining } from './support.ts'

const attempt = (app: TestApp, id: number, userId: string, ip: string) =>
  app.http.inject({ method: 'POST', url: `/api/seckill/${id}`, payload: { userId }, remoteAddress: ip })

describe('flash sale request limits (per user, per client address)', () => {
  let app: TestApp
  beforeAll(async () => {
    app = await startTestApp({
      env: { SECKILL_USER_LIMIT: '3', SECKILL_IP_LIMIT: '5', SECKILL_LIMIT_WINDOW_SECONDS: '60' },
    })
  })
  afterAll(() => app.close())

  it('one user id from many addresses: the 4th attempt in the window is 429 with retryAfter', async () => {
    const id = await createProduct(app, { stock: 10 })
    const answers = []
    for (let i = 0; i < 4; i++) answers.push(await attempt(app, id, 'bot-user', `10.0.0.${i + 1}`))
    expect(answers.map((r) => r.statusCode)).toEqual([202, 409, 409, 429])
    const limited = answers[3]
    expect(limited?.json().error).toMatchObject({ code: 'rate_limited', retryAfter: expect.any(Number) })
    const retryAfter = limited?.json().error.retryAfter as number
    expect(retryAfter).toBeGreaterThanOrEqual(1)
    expect(retryAfter).toBeLessThanOrEqual(60)
    expect(limited?.headers['retry-after']).toBe(String(retryAfter))
  })

  it('many user ids from one address: the 6th is 429 and takes nothing from the stock', async () => {
    const id = await createProduct(app, { stock: 10 })
    const answers = await Promise.all(
      Array.from({ length: 8 }, (_, i) => attempt(app, id, `crowd-${i}`, '10.9.9.9')),
    )
    const statuses = answers.map((r) => r.statusCode).sort()
    expect(statuses).toEqual([202, 202, 202, 202, 202, 429, 429, 429])
    expect(await remaining(app, id)).toBe(5)
    // Another address is not affected.
    expect((await attempt(app, id, 'elsewhere', '10.9.9.10')).statusCode).toBe(202)
  })

  it('validation comes first: a malformed attempt is a 400, not counted', async () => {
    const id = await createProduct(app, { stock: 10 })
    for (let i = 0; i < 5; i++) {
      const bad = await app.http.inject({
        method: 'POST',
        url: `/api/seckill/${id}`,
        payload: {},
        remoteAddress: '10.7.7.7',
      })
      expect(bad.statusCode).toBe(400)
    }
    expect((await attempt(app, id, 'fine', '10.7.7.7')).statusCode).toBe(202)
    expect((await buy(app, id, 'local')).statusCode).toBe(202)
  })
})
