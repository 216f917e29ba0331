import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { dbKinds, startTestApp, type TestApp } from '../support/app.ts'
import { deliveredText, requestCode } from '../verification/support.ts'
import { outboxRows, randomPhone, sendSms, settled } from './support.ts'

// Issue 15 items 10-12: SMS budgets per address and in all, the country allow-list, sealed verification texts,
// and one bad row never failing the other requests of its INSERT batch.

const fromAddress = (app: TestApp, remoteAddress: string, url: string, payload: object) =>
  app.http.inject({ method: 'POST', url, payload, remoteAddress })

describe.each(dbKinds)('SMS abuse limits on %s', (db) => {
  let app: TestApp
  beforeAll(async () => {
    app = await startTestApp({
      db,
      env: {
        SMS_ADDRESS_LIMIT: '6',
        SMS_GLOBAL_LIMIT: '10',
        SMS_ALLOWED_COUNTRIES: '86,+852',
        VERIFICATION_SECRET: 'test-verification-secret-0123456789',
      },
    })
    await app.start(['worker'])
  })
  afterAll(() => app.close())

  it('one address rotating numbers gets exactly its budget, SMS and codes alike, then 429 rate_limited', async () => {
    const answers = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        i % 2
          ? fromAddress(app, '10.0.0.1', '/api/sms', { phone: randomPhone(), content: `hi ${i}` })
          : fromAddress(app, '10.0.0.1', '/api/verification-codes', { phone: randomPhone() }),
      ),
    )
    const statuses = answers.map((a) => a.statusCode)
    expect(statuses.filter((s) => s === 202)).toHaveLength(6)
    expect(statuses.filter((s) => s === 429)).toHaveLength(4)
    const refused = answers.find((a) => a.statusCode === 429)
    expect(refused?.json().error).toMatchObject({ code: 'rate_limited', retryAfter: expect.any(Number) })
    expect(refused?.headers['retry-after']).toBeDefined()
    // Another address still has its own budget.
    expect(
      (await fromAddress(app, '10.0.0.2', '/api/sms', { phone: randomPhone(), content: 'x' })).statusCode,
    ).toBe(202)
  })

  it('many addresses run into the global budget (10 segments here), exactly', async () => {
    // 7 of the 10 were used by the test above.
    const answers = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        fromAddress(app, `10.1.0.${i}`, '/api/sms', { phone: randomPhone(), content: `m${i}` }),
      ),
    )
    const statuses = answers.map((a) => a.statusCode).sort()
    expect(statuses).toEqual([202, 202, 202, 429, 429, 429, 429, 429])
    expect(answers.find((a) => a.statusCode === 429)?.json().error.message).toMatch(/budget/)
  })

  it('numbers outside the allowed country codes are refused with 400 invalid_phone, nothing taken', async () => {
    const res = await fromAddress(app, '10.2.0.1', '/api/sms', { phone: '+14155550123', content: 'hi' })
    expect(res.statusCode).toBe(400)
    expect(res.json().error).toMatchObject({ code: 'invalid_phone', allowedCountries: ['+86', '+852'] })
    const code = await fromAddress(app, '10.2.0.1', '/api/verification-codes', { phone: '+447911123456' })
    expect(code.json().error.code).toBe('invalid_phone')
  })
})

describe.each(dbKinds)('verification SMS sealed at rest on %s', (db) => {
  let app: TestApp
  beforeAll(async () => {
    app = await startTestApp({ db, env: { VERIFICATION_SECRET: 'test-verification-secret-0123456789' } })
    await app.start(['worker'])
  })
  afterAll(() => app.close())

  it('stores the code only sealed, shows it masked to admins, erases it after delivery', async () => {
    const phone = randomPhone()
    const res = await requestCode(app, phone)
    expect(res.statusCode).toBe(202)
    const { smsId } = res.json()
    const stored = await app.db
      .selectFrom('sms_messages')
      .selectAll()
      .where('id', '=', smsId)
      .executeTakeFirstOrThrow()
    expect(stored.content).toMatch(/^Your hotspot code is \*{6}\./)
    if (stored.status !== 'sent') expect(stored.sealed).toMatch(/^v1\./)

    const sms = await settled(app, smsId)
    expect(sms.status).toBe('sent')
    expect(sms.content).toMatch(/code is \*{6}\./)
    // The phone's copy (the outbox stands in for it) opens to the real code; nothing else holds it.
    const code = /code is (\d{6})\./.exec((await deliveredText(app, smsId)) ?? '')?.[1] as string
    expect(code).toMatch(/^\d{6}$/)
    expect(JSON.stringify(sms)).not.toContain(code)
    const after = await app.db
      .selectFrom('sms_messages')
      .selectAll()
      .where('id', '=', smsId)
      .executeTakeFirstOrThrow()
    expect(after.sealed).toBeNull()

    const outbox = await app.http.inject({
      method: 'GET',
      url: `/api/sms/outbox?phone=${encodeURIComponent(`+86${phone}`)}`,
      headers: app.auth,
    })
    expect(outbox.json().parts[0].body).toMatch(/code is \*{6}\./)
    expect(outbox.body).not.toContain(code)
    const rows = await outboxRows(app, smsId)
    expect(rows[0]?.body).not.toContain(code)
    expect(rows[0]?.sealed).not.toContain(code)
    expect(JSON.stringify(after)).not.toContain(code)
  })

  it('ordinary SMS are stored and shown as sent', async () => {
    const res = await sendSms(app, { phone: randomPhone(), content: 'Order 123456 shipped' })
    const sms = await settled(app, res.json().id)
    expect(sms.content).toBe('Order 123456 shipped')
  })
})

describe.each(dbKinds)('one bad SMS row in a batch on %s', (db) => {
  let app: TestApp
  beforeAll(async () => {
    app = await startTestApp({ db, env: { SMS_ADDRESS_LIMIT: '0', SMS_GLOBAL_LIMIT: '0' } })
  })
  afterAll(() => app.close())

  it('a NUL in the content is 400 (refused at validation); the requests of the same turn are all accepted', async () => {
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        sendSms(app, { phone: randomPhone(), content: i === 7 ? 'bad\u0000row' : `good ${i}` }),
      ),
    )
    expect(answers.map((a) => a.statusCode)).toEqual(
      Array.from({ length: 20 }, (_, i) => (i === 7 ? 400 : 202)),
    )
    // The shared control-character rule (src/infra/http.ts) refuses it before the SMS service sees it.
    expect(answers[7]?.json().error.code).toBe('validation_failed')
  })

  it('a row the database refuses fails alone: the batch is retried row by row', async () => {
    const store = (await import('../../src/sms/store.ts')).createSmsStore(app.db)
    const row = (id: string) => ({
      id,
      phone: 'v1.sealed-elsewhere',
      phone_hash: 'lookup',
      content: 'x',
      encoding: 'GSM-7' as const,
      segments: 1,
      sealed: null,
    })
    const taken = `dup-${Math.random()}`
    await store.insert(row(taken), '+86139****0000')
    const ids = Array.from({ length: 10 }, (_, i) => (i === 3 ? taken : `ok-${i}-${Math.random()}`))
    const outcomes = await Promise.allSettled(ids.map((id) => store.insert(row(id), '+86139****0000')))
    expect(outcomes.map((o) => o.status)).toEqual(ids.map((id) => (id === taken ? 'rejected' : 'fulfilled')))
    const stored = await app.db.selectFrom('sms_messages').select('id').where('id', 'in', ids).execute()
    expect(stored).toHaveLength(10) // the 9 new ones and the one that was there
  })
})
