import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestApp, type TestApp } from '../support/app.ts'
import { limiterUnits, randomPhone, sendSms, sleep } from './support.ts'

describe('SMS limit: the window slides (6 s window configured)', () => {
  let app: TestApp
  beforeAll(async () => {
    app = await startTestApp({ env: { SMS_LIMIT_WINDOW_SECONDS: '6' } })
  })
  afterAll(() => app.close())

  it('frees segments as they leave the window, not all at once', async () => {
    const phone = randomPhone()
    expect((await sendSms(app, { phone, content: 'a'.repeat(300) })).statusCode).toBe(202) // 2 segments
    // Gaps of 3 s so a busy machine cannot blur which messages are still in the window.
    await sleep(3_000)
    for (let i = 0; i < 3; i++) expect((await sendSms(app, { phone, content: `m${i}` })).statusCode).toBe(202)
    const full = await sendSms(app, { phone, content: 'full' })
    expect(full.statusCode).toBe(429)
    // The 2-segment message leaves first, about 3 s from now: the answer says so (rounded up to whole s).
    expect(full.json().error.retryAfter).toBeGreaterThanOrEqual(1)
    expect(full.json().error.retryAfter).toBeLessThanOrEqual(3)
    await sleep(full.json().error.retryAfter * 1000 + 100)
    // Its 2 segments are free again; the 3 later ones are still in the window.
    expect((await sendSms(app, { phone, content: 'b'.repeat(161 + 153) })).statusCode).toBe(429) // 3 segments
    expect((await sendSms(app, { phone, content: 'c'.repeat(200) })).statusCode).toBe(202) // 2 segments
    expect((await sendSms(app, { phone, content: 'over' })).statusCode).toBe(429)
    expect(await limiterUnits(app, `+86${phone}`)).toBe(5)
  })
})

describe('SMS limit across two API instances sharing Redis', () => {
  let first: TestApp
  let second: TestApp
  beforeAll(async () => {
    const keyPrefix = `t${randomUUID().slice(0, 8)}`
    first = await startTestApp({ keyPrefix })
    second = await startTestApp({ keyPrefix })
  })
  afterAll(async () => {
    await first.close()
    await second.close()
  })

  it('20 concurrent sends split over both instances: exactly 5 accepted in total', async () => {
    const phone = randomPhone()
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) => sendSms(i % 2 ? first : second, { phone, content: `hi ${i}` })),
    )
    expect(answers.filter((r) => r.statusCode === 202)).toHaveLength(5)
    expect(answers.filter((r) => r.statusCode === 429)).toHaveLength(15)
  })

  it('a 2-segment message on one instance does not fit after 4 segments taken on the other', async () => {
    const phone = randomPhone()
    for (let i = 0; i < 4; i++)
      expect((await sendSms(first, { phone, content: `x${i}` })).statusCode).toBe(202)
    expect((await sendSms(second, { phone, content: 'y'.repeat(161) })).statusCode).toBe(429)
    expect((await sendSms(second, { phone, content: 'y' })).statusCode).toBe(202)
  })
})
