import { Cluster } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { phoneLookup } from '../sms/support.ts'
import { dbKinds, startTestApp, type TestApp } from '../support/app.ts'
import { checkCode, codeFromOutbox, randomPhone, requestCode, wrongCode } from './support.ts'

const SECRET = 'test-verification-secret-0123456789'

/** Every key matching `pattern` with its value as text, from every master (a Cluster has several). */
async function dumpRedis(app: TestApp, pattern: string): Promise<string> {
  const nodes = app.redis instanceof Cluster ? app.redis.nodes('master') : [app.redis]
  const keys: string[] = []
  for (const node of nodes) {
    let cursor = '0'
    do {
      const [next, batch] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', '1000')
      cursor = next
      keys.push(...batch)
    } while (cursor !== '0')
  }
  const dump: string[] = []
  for (const key of keys) {
    const type = await app.redis.type(key)
    if (type === 'string') dump.push(key, (await app.redis.get(key)) ?? '')
    if (type === 'hash') dump.push(key, JSON.stringify(await app.redis.hgetall(key)))
    if (type === 'zset') dump.push(key, JSON.stringify(await app.redis.zrange(key, '0', '-1')))
    if (type === 'set') dump.push(key, JSON.stringify(await app.redis.smembers(key)))
    if (type === 'list') dump.push(key, JSON.stringify(await app.redis.lrange(key, 0, -1)))
  }
  return dump.join('\n')
}

describe.each(dbKinds)('verification codes on %s (real Redis, RabbitMQ, worker)', (db) => {
  let app: TestApp
  beforeAll(async () => {
    app = await startTestApp({ db, env: { VERIFICATION_SECRET: SECRET } })
    await app.start(['worker'])
  })
  afterAll(() => app.close())

  it('end to end: request, read the code from the outbox, a wrong guess, the right one, then it is used up', async () => {
    const phone = randomPhone()
    const res = await requestCode(app, phone)
    expect(res.statusCode).toBe(202)
    expect(res.json()).toEqual({ smsId: expect.any(String), expiresIn: 300, resendAfter: 60 })
    const code = await codeFromOutbox(app, `+86${phone}`, res.json().smsId)
    expect(code).toMatch(/^\d{6}$/)

    const wrong = await checkCode(app, phone, wrongCode(code))
    expect(wrong.statusCode).toBe(400)
    expect(wrong.json().error).toMatchObject({ code: 'invalid_code', attemptsLeft: 4 })
    // The same phone in another accepted spelling is the same phone.
    const right = await checkCode(app, `+86 ${phone}`, code)
    expect(right.statusCode).toBe(200)
    expect(right.json()).toEqual({ valid: true })
    const again = await checkCode(app, phone, code)
    expect(again.statusCode).toBe(400)
    expect(again.json().error.code).toBe('code_expired')
  })

  it('Redis holds no clear code, only its HMAC; the SMS content is the only place it appears', async () => {
    const phone = randomPhone()
    const { smsId } = (await requestCode(app, phone)).json()
    const code = await codeFromOutbox(app, `+86${phone}`, smsId)
    const dump = await dumpRedis(app, `${app.prefix}:*`)
    expect(dump).toContain(`{vc:${phoneLookup(app, `+86${phone}`)}}:code`) // the code's record is there…
    expect(dump).not.toContain(phone) // …under the phone's HMAC, not the number…
    expect(dump).not.toContain(code) // …but not the code (task messages and results carry only the SMS id)
    expect(await dumpRedis(app, 'celery-task-meta-*')).not.toContain(code)
  })

  it('a resend within 60 s: 429 rate_limited with retryAfter and Retry-After, the first code still works', async () => {
    const phone = randomPhone()
    const first = await requestCode(app, phone)
    expect(first.statusCode).toBe(202)
    const second = await requestCode(app, phone)
    expect(second.statusCode).toBe(429)
    const error = second.json().error
    expect(error.code).toBe('rate_limited')
    expect(error.retryAfter).toBeGreaterThanOrEqual(1)
    expect(error.retryAfter).toBeLessThanOrEqual(60)
    expect(second.headers['retry-after']).toBe(String(error.retryAfter))
    const code = await codeFromOutbox(app, `+86${phone}`, first.json().smsId)
    expect((await checkCode(app, phone, code)).statusCode).toBe(200)
  })

  it('brute force: 20 concurrent wrong guesses, exactly 5 counted, the rest 429; then even the right code is refused', async () => {
    const phone = randomPhone()
    const { smsId } = (await requestCode(app, phone)).json()
    const code = await codeFromOutbox(app, `+86${phone}`, smsId)
    const guesses = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        checkCode(app, phone, wrongCode(String((Number(code) + i) % 1e6))),
      ),
    )
    const invalid = guesses.filter((r) => r.statusCode === 400)
    expect(invalid.map((r) => r.json().error.code)).toEqual(Array(5).fill('invalid_code'))
    expect(invalid.map((r) => r.json().error.attemptsLeft).sort()).toEqual([0, 1, 2, 3, 4])
    const refused = guesses.filter((r) => r.statusCode === 429)
    expect(refused).toHaveLength(15)
    expect(refused.every((r) => r.json().error.code === 'too_many_attempts')).toBe(true)
    const right = await checkCode(app, phone, code)
    expect(right.statusCode).toBe(429)
    expect(right.json().error.code).toBe('too_many_attempts')
  })

  it('the code SMS counts toward the SMS limit, and a code refused by it costs no code quota', async () => {
    const phone = randomPhone()
    expect((await requestCode(app, phone)).statusCode).toBe(202) // 1 segment
    const four = await app.http.inject({
      method: 'POST',
      url: '/api/sms',
      payload: { phone, content: 'f'.repeat(153 * 3 + 1) },
    })
    expect(four.json().segments).toBe(4)
    expect(four.statusCode).toBe(202)
    const full = await app.http.inject({ method: 'POST', url: '/api/sms', payload: { phone, content: 'x' } })
    expect(full.statusCode).toBe(429)

    const other = randomPhone()
    const five = await app.http.inject({
      method: 'POST',
      url: '/api/sms',
      payload: { phone: other, content: 'f'.repeat(153 * 4 + 1) },
    })
    expect(five.json().segments).toBe(5)
    const refused = await requestCode(app, other)
    expect(refused.statusCode).toBe(429)
    expect(refused.json().error.code).toBe('rate_limited')
    // No SMS went out, so the phone's code log is untouched (no cooldown started).
    expect(await app.redis.llen(`${app.prefix}:rl:{vc:${phoneLookup(app, `+86${other}`)}}`)).toBe(0)
  })

  it('bad input: invalid_phone, validation_failed, code_expired when no code was sent', async () => {
    for (const phone of ['123', '12812345678', '+0123456789', 'abc', '']) {
      const res = await requestCode(app, phone)
      expect([res.statusCode, res.json().error.code]).toEqual([400, 'invalid_phone'])
      const check = await checkCode(app, phone, '123456')
      expect([check.statusCode, check.json().error.code]).toEqual([400, 'invalid_phone'])
    }
    const noPhone = await app.http.inject({ method: 'POST', url: '/api/verification-codes', payload: {} })
    expect(noPhone.json().error).toMatchObject({ code: 'validation_failed', field: 'body.phone' })
    const noCode = await app.http.inject({
      method: 'POST',
      url: '/api/verification-codes/check',
      payload: { phone: randomPhone() },
    })
    expect(noCode.json().error).toMatchObject({ code: 'validation_failed', field: 'body.code' })
    const numberCode = await checkCode(app, randomPhone(), { code: 1 })
    expect(numberCode.json().error.code).toBe('validation_failed')
    const never = await checkCode(app, randomPhone(), '123456')
    expect([never.statusCode, never.json().error.code]).toEqual([400, 'code_expired'])
  })
})
