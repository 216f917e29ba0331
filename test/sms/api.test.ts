import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DELIVER_TASK } from '../../src/sms/service.ts'
import { dbKinds, startTestApp, type TestApp } from '../support/app.ts'
import {
  getSms,
  limiterUnits,
  outboxRows,
  phoneLookup,
  phoneVault,
  randomPhone,
  sendSms,
  settled,
} from './support.ts'

describe.each(dbKinds)('SMS API on %s (real Redis, RabbitMQ, worker)', (db) => {
  let app: TestApp
  beforeAll(async () => {
    app = await startTestApp({ db })
    await app.start(['worker'])
  })
  afterAll(() => app.close())

  it('accepts a message (202, masked phone) and the worker delivers it through the outbox', async () => {
    const phone = randomPhone()
    const res = await sendSms(app, { phone, content: 'Hello from hotspot' })
    expect(res.statusCode).toBe(202)
    const body = res.json()
    expect(body).toEqual({
      id: expect.any(String),
      phone: `+86${phone.slice(0, 3)}****${phone.slice(-4)}`,
      encoding: 'GSM-7',
      segments: 1,
      status: 'queued',
    })
    expect(res.body).not.toContain(phone)
    const sms = await settled(app, body.id)
    expect(sms).toMatchObject({ status: 'sent', attempts: 1, segments: 1, sentAt: expect.any(String) })
    const rows = await outboxRows(app, body.id)
    expect(rows.map((r) => [r.part, phoneVault(app).open(r.sms_id, r.phone), r.body])).toEqual([
      [1, `+86${phone}`, 'Hello from hotspot'],
    ])
  })

  it('segments as API.md says: UCS-2 for Chinese, 153-character parts for long GSM-7', async () => {
    const chinese = await sendSms(app, { phone: randomPhone(), content: '您的验证码是 123456' })
    expect(chinese.json()).toMatchObject({ encoding: 'UCS-2', segments: 1 })
    const long = `${'x'.repeat(200)}€`
    const res = await sendSms(app, { phone: `+86 ${randomPhone()}`, content: long })
    expect(res.json()).toMatchObject({ encoding: 'GSM-7', segments: 2 })
    const sms = await settled(app, res.json().id)
    expect(sms.parts).toEqual(['x'.repeat(153), `${'x'.repeat(47)}€`])
    expect((await outboxRows(app, sms.id)).map((r) => r.body)).toEqual(sms.parts)
  })

  it('shows content and parts only with the admin token; the phone stays masked for everyone', async () => {
    const phone = randomPhone()
    const { id } = (await sendSms(app, { phone, content: 'secret-ish content' })).json()
    await settled(app, id)
    const anonymous = await getSms(app, id)
    expect(Object.keys(anonymous).sort()).toEqual(
      ['attempts', 'createdAt', 'encoding', 'gateway', 'id', 'phone', 'segments', 'sentAt', 'status'].sort(),
    )
    expect(anonymous.gateway).toBe('outbox')
    expect(anonymous.phone).toBe(`+86${phone.slice(0, 3)}****${phone.slice(-4)}`)
    const wrongToken = await app.http.inject({
      method: 'GET',
      url: `/api/sms/${id}`,
      headers: { authorization: 'Bearer not-the-token-at-all' },
    })
    expect(wrongToken.json()).not.toHaveProperty('content')
    const admin = await getSms(app, id, true)
    expect(admin).toMatchObject({ content: 'secret-ish content', parts: ['secret-ish content'] })
    expect(JSON.stringify(admin)).not.toContain(phone)
  })

  it('20 concurrent sends to one phone: exactly 5 accepted, 15 answered 429 with retryAfter', async () => {
    const phone = randomPhone()
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) => sendSms(app, { phone, content: `message ${i}` })),
    )
    const accepted = answers.filter((r) => r.statusCode === 202)
    const limited = answers.filter((r) => r.statusCode === 429)
    expect(accepted).toHaveLength(5)
    expect(limited).toHaveLength(15)
    for (const res of limited) {
      const error = res.json().error
      expect(error.code).toBe('rate_limited')
      expect(Number.isInteger(error.retryAfter)).toBe(true)
      expect(error.retryAfter).toBeGreaterThanOrEqual(1)
      expect(error.retryAfter).toBeLessThanOrEqual(60)
      expect(res.headers['retry-after']).toBe(String(error.retryAfter))
    }
    expect(await limiterUnits(app, `+86${phone}`)).toBe(5)
    const rows = await app.db
      .selectFrom('sms_messages')
      .select('id')
      .where('phone_hash', '=', phoneLookup(app, `+86${phone}`))
      .execute()
    expect(rows).toHaveLength(5)
    const metrics = (await app.http.inject({ method: 'GET', url: '/metrics' })).body
    expect(metrics).toMatch(
      /hotspot_rate_limit_decisions_total\{limiter="sms",decision="limited"\} (1[5-9]|[2-9]\d)/,
    )
  })

  it('50 concurrent sends to 50 phones: all stored, in far fewer INSERTs than messages (group commit)', async () => {
    const before = app.queries.length
    const phones = Array.from({ length: 50 }, () => randomPhone())
    const answers = await Promise.all(phones.map((phone) => sendSms(app, { phone, content: 'batched' })))
    expect(answers.map((r) => r.statusCode)).toEqual(Array(50).fill(202))
    const ids = answers.map((r) => r.json().id as string)
    const rows = await app.db.selectFrom('sms_messages').select('id').where('id', 'in', ids).execute()
    expect(rows).toHaveLength(50)
    const inserts = app.queries.slice(before).filter((q) => /^insert into "sms_messages"/i.test(q))
    expect(inserts.length).toBeGreaterThanOrEqual(1)
    expect(inserts.length).toBeLessThan(25)
  })

  it('ids are time-ordered UUIDs (v7): messages sent one after another sort in the order they were sent', async () => {
    // A random id (v4) puts every new row on a random page of the primary-key index, which SQLite rewrites at
    // commit; a time-ordered one appends. Same for the sms.accepted events written with them.
    const ids: string[] = []
    for (let i = 0; i < 5; i++) {
      const answer = await sendSms(app, { phone: randomPhone(), content: `ordered ${i}` })
      expect(answer.statusCode).toBe(202)
      ids.push(answer.json().id as string)
      await new Promise((resolve) => setTimeout(resolve, 2))
    }
    for (const id of ids)
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    expect([...ids].sort()).toEqual(ids)
  })

  it('admits a 2-segment message whole or not at all', async () => {
    const phone = randomPhone()
    for (let i = 0; i < 4; i++)
      expect((await sendSms(app, { phone, content: `one ${i}` })).statusCode).toBe(202)
    const two = await sendSms(app, { phone, content: 'y'.repeat(161) })
    expect(two.statusCode).toBe(429)
    expect(await limiterUnits(app, `+86${phone}`)).toBe(4)
    expect((await sendSms(app, { phone, content: 'the last one' })).statusCode).toBe(202)
    expect((await sendSms(app, { phone, content: 'one too many' })).statusCode).toBe(429)
  })

  it('a delivery task delivered again, or duplicated, never sends twice', async () => {
    const { id } = (await sendSms(app, { phone: randomPhone(), content: 'z'.repeat(300) })).json()
    // Four duplicates race the original delivery; afterwards three more arrive, one with the same task id.
    await Promise.all(Array.from({ length: 4 }, () => app.tasks.producer.send(DELIVER_TASK, [id])))
    const sms = await settled(app, id)
    expect(sms).toMatchObject({ status: 'sent', attempts: 1 })
    const again = await Promise.all(
      Array.from({ length: 3 }, () => app.tasks.producer.send(DELIVER_TASK, [id])),
    )
    for (const taskId of again) {
      const state = await app.tasks.results.wait(taskId, 10_000)
      expect(state).toMatchObject({ status: 'SUCCESS', result: { id, status: 'sent' } })
    }
    expect((await outboxRows(app, id)).map((r) => r.part)).toEqual([1, 2])
    expect(await getSms(app, id)).toMatchObject({ status: 'sent', attempts: 1 })
  })

  it('a delivery task for an SMS that does not exist fails for good, sending nothing', async () => {
    const taskId = await app.tasks.producer.send(DELIVER_TASK, ['00000000-0000-0000-0000-000000000000'])
    expect(await app.tasks.results.wait(taskId, 10_000)).toMatchObject({ status: 'FAILURE' })
    const bad = await app.tasks.producer.send(DELIVER_TASK, [42])
    expect(await app.tasks.results.wait(bad, 10_000)).toMatchObject({ status: 'FAILURE' })
  })

  it('bad input of every kind: 400 with the right code, nothing stored, no quota used', async () => {
    const phone = randomPhone()
    const cases: [unknown, string][] = [
      [{ phone: '12345', content: 'hi' }, 'invalid_phone'],
      [{ phone: '12812345678', content: 'hi' }, 'invalid_phone'], // 12x is not a mobile prefix
      [{ phone: '1391234567', content: 'hi' }, 'invalid_phone'], // 10 digits
      [{ phone: '+1234567', content: 'hi' }, 'invalid_phone'], // E.164 needs 8–15 digits
      [{ phone: '+1234567890123456', content: 'hi' }, 'invalid_phone'],
      [{ phone: '+86 139.1234.5678', content: 'hi' }, 'invalid_phone'],
      [{ phone: 'phone', content: 'hi' }, 'invalid_phone'],
      [{ phone: '', content: 'hi' }, 'invalid_phone'],
      [{ phone: '1'.repeat(5000), content: 'hi' }, 'invalid_phone'],
      [{ phone, content: '' }, 'invalid_content'],
      [{ phone, content: '   ' }, 'invalid_content'],
      [{ phone, content: 'a'.repeat(153 * 10 + 1) }, 'invalid_content'], // 11 segments
      [{ phone, content: '你'.repeat(67 * 10 + 1) }, 'invalid_content'], // 11 UCS-2 segments
      [{ phone, content: 'a'.repeat(153 * 5 + 1) }, 'invalid_content'], // 6 segments never fit in 5
      [{ phone }, 'validation_failed'],
      [{ content: 'hi' }, 'validation_failed'],
      [{ phone, content: { text: 'hi' } }, 'validation_failed'],
      [{ phone, content: 'hi', extra: 1 }, 'validation_failed'],
      [[phone, 'hi'], 'validation_failed'],
    ]
    for (const [payload, code] of cases) {
      const res = await sendSms(app, payload)
      expect({ payload, status: res.statusCode, code: res.json().error?.code }).toEqual({
        payload,
        status: 400,
        code,
      })
    }
    const brokenJson = await app.http.inject({
      method: 'POST',
      url: '/api/sms',
      headers: { 'content-type': 'application/json' },
      payload: '{"phone": "139',
    })
    expect(brokenJson.statusCode).toBe(400)
    expect(brokenJson.json().error.code).toBe('invalid_json')
    const missing = (await sendSms(app, { content: 'hi' })).json().error
    expect(missing.field).toBe('body.phone')
    expect(await limiterUnits(app, `+86${phone}`)).toBe(0)
    const rows = await app.db
      .selectFrom('sms_messages')
      .select('id')
      .where('phone_hash', '=', phoneLookup(app, `+86${phone}`))
      .execute()
    expect(rows).toHaveLength(0)
  })

  it('a 10-segment message is accepted when the limit allows 10', async () => {
    const wide = await startTestApp({ db, env: { SMS_LIMIT_SEGMENTS: '10' } })
    try {
      const ten = await sendSms(wide, { phone: randomPhone(), content: 'a'.repeat(153 * 10) })
      expect(ten.statusCode).toBe(202)
      expect(ten.json().segments).toBe(10)
    } finally {
      await wide.close()
    }
  })

  it('unknown id: 404 sms_not_found', async () => {
    const res = await app.http.inject({ method: 'GET', url: '/api/sms/no-such-sms' })
    expect(res.statusCode).toBe(404)
    expect(res.json().error.code).toBe('sms_not_found')
  })

  it('the outbox is readable by admins only, phones masked, filtered by phone', async () => {
    const phone = randomPhone()
    const { id } = (await sendSms(app, { phone, content: 'outbox me' })).json()
    await settled(app, id)
    const anonymous = await app.http.inject({ method: 'GET', url: '/api/sms/outbox' })
    expect(anonymous.statusCode).toBe(401)
    const res = await app.http.inject({
      method: 'GET',
      url: `/api/sms/outbox?phone=%2B86${phone}`,
      headers: app.auth,
    })
    expect(res.statusCode).toBe(200)
    expect(res.json().parts).toEqual([
      {
        smsId: id,
        part: 1,
        phone: `+86${phone.slice(0, 3)}****${phone.slice(-4)}`,
        body: 'outbox me',
        deliveredAt: expect.any(String),
      },
    ])
    const bad = await app.http.inject({ method: 'GET', url: '/api/sms/outbox?phone=nope', headers: app.auth })
    expect(bad.json().error.code).toBe('invalid_phone')
  })
})
