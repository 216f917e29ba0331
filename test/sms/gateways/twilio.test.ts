import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../../../src/config.ts'
import { dbKinds, startTestApp, type TestApp } from '../../support/app.ts'
import { getSms, randomPhone, sendSms, settled } from '../support.ts'
import { capturedLogger } from './capture-log.ts'
import { startIhuyiServer } from './ihuyi-server.ts'
import { startTwilioServer, type TwilioMessage, twilioSignature } from './twilio-server.ts'

const ACCOUNT_SID = `AC${'0123456789abcdef'.repeat(2)}`
const AUTH_TOKEN = 'twilio-auth-token-0123456789abcdef'
const FROM = '+15005550006'
const SERVICE_SID = `MG${'fedcba9876543210'.repeat(2)}`
// The public address Twilio calls (behind a proxy); the app sees /api/sms/receipts/twilio.
const CALLBACK_URL = 'https://hotspot.example.com/api/sms/receipts/twilio'

const e164 = (phone: string) => `+86${phone}`

describe.each(dbKinds)('SMS_PROVIDER=twilio on %s (a strict Twilio stand-in)', (db) => {
  let app: TestApp
  let twilio: Awaited<ReturnType<typeof startTwilioServer>>
  const logs = capturedLogger()
  beforeAll(async () => {
    twilio = await startTwilioServer({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN, from: FROM })
    app = await startTestApp({
      db,
      log: logs.log,
      env: {
        SMS_PROVIDER: 'twilio',
        TWILIO_ACCOUNT_SID: ACCOUNT_SID,
        TWILIO_AUTH_TOKEN: AUTH_TOKEN,
        TWILIO_FROM: FROM,
        TWILIO_STATUS_CALLBACK_URL: CALLBACK_URL,
        TWILIO_URL: twilio.url,
        SMS_GATEWAY_TIMEOUT_MS: '500',
        SMS_BREAKER_FAILURES: '1000', // the breaker has its own test (failover.test.ts)
        SMS_RETRY_BASE_MS: '50',
        SMS_RETRY_MAX_SECONDS: '1',
      },
    })
    await app.start(['worker'])
  })
  afterAll(async () => {
    await app?.close()
    await twilio?.close()
  })

  const post = (params: Record<string, string>, signature?: string) =>
    app.http.inject({
      method: 'POST',
      url: '/api/sms/receipts/twilio',
      headers: {
        'content-type': 'application/x-www-form-urlencoded; charset=UTF-8',
        ...(signature === undefined ? {} : { 'x-twilio-signature': signature }),
      },
      payload: new URLSearchParams(params).toString(),
    })
  const callback = (message: TwilioMessage, status: string, errorCode?: string) => {
    const signed = twilio.statusCallback(message, status, errorCode)
    expect(signed.url).toBe(CALLBACK_URL)
    return post(signed.params, signed.signature)
  }
  const sentTo = (phone: string) => {
    const message = twilio.accepted.find((m) => m.to === e164(phone))
    if (!message) throw new Error('Twilio did not take the message')
    return message
  }

  it('sends To/From/Body/StatusCallback with basic auth; signed callbacks move it to delivered', async () => {
    const phone = randomPhone()
    const { id } = (await sendSms(app, { phone, content: 'Your parcel is on its way' })).json()
    const sms = await settled(app, id)
    const message = sentTo(phone)
    expect(message).toEqual({
      sid: expect.stringMatching(/^SM[0-9a-f]{32}$/),
      to: e164(phone),
      from: FROM,
      body: 'Your parcel is on its way',
      statusCallback: CALLBACK_URL,
    })
    expect(sms).toMatchObject({ status: 'sent', gateway: 'twilio', attempts: 1 })
    expect(sms.receipts).toEqual([{ part: 1, messageId: message.sid, status: 'sent' }])

    // queued → sent → delivered: only the last is a receipt.
    expect((await callback(message, 'sent')).statusCode).toBe(200)
    expect((await getSms(app, id)).status).toBe('sent')
    expect((await callback(message, 'delivered')).statusCode).toBe(200)
    expect(await getSms(app, id)).toMatchObject({
      status: 'delivered',
      receipts: [{ part: 1, messageId: message.sid, status: 'delivered' }],
    })
  })

  it('undelivered and failed callbacks say why; a replayed delivered changes nothing', async () => {
    for (const status of ['undelivered', 'failed']) {
      const phone = randomPhone()
      const { id } = (await sendSms(app, { phone, content: `will be ${status}` })).json()
      await settled(app, id)
      const message = sentTo(phone)
      expect((await callback(message, status, '30003')).statusCode).toBe(200)
      const after = await getSms(app, id)
      expect(after).toMatchObject({ status: 'undelivered', receipts: [{ status: 'undelivered' }] })
      expect(after.receipts[0].error).toBe(`twilio status ${status} (error 30003)`)
      expect((await callback(message, 'delivered')).statusCode).toBe(200)
      expect((await getSms(app, id)).status).toBe('undelivered')
    }
  })

  it('forged callbacks are refused and change nothing', async () => {
    const phone = randomPhone()
    const { id } = (await sendSms(app, { phone, content: 'forge me' })).json()
    await settled(app, id)
    const message = sentTo(phone)
    const { params, signature } = twilio.statusCallback(message, 'delivered')

    const refused = [
      await post(params), // no signature
      await post(params, 'bm90IGEgc2lnbmF0dXJl'),
      // Signed with another token, or for another URL.
      await post(params, twilioSignature('another-token', CALLBACK_URL, params)),
      await post(
        params,
        twilioSignature(AUTH_TOKEN, 'https://evil.example.com/api/sms/receipts/twilio', params),
      ),
      // A genuine signature over other parameters (a captured "failed" turned into "delivered").
      await post({ ...params, MessageStatus: 'failed' }, signature),
      // Signed by this token but for another account.
      await post(
        { ...params, AccountSid: `AC${'1'.repeat(32)}` },
        twilioSignature(AUTH_TOKEN, CALLBACK_URL, { ...params, AccountSid: `AC${'1'.repeat(32)}` }),
      ),
    ]
    for (const res of refused) {
      expect(res.statusCode).toBe(401)
      expect(res.json().error.code).toBe('unauthorized')
    }
    expect((await getSms(app, id)).status).toBe('sent')

    const unknown = { ...message, sid: `SM${'9'.repeat(32)}` }
    const notFound = await callback(unknown, 'delivered')
    expect(notFound.statusCode).toBe(404)
    expect(notFound.json().error.code).toBe('sms_not_found')
    expect((await post({ MessageSid: message.sid }, signature)).statusCode).toBe(400)
  })

  it('an HTML error page, an empty body, a hang and throttling are retried; it goes out exactly once', async () => {
    const phone = randomPhone()
    twilio.script.push('html-502', 'empty', 'hang', {
      status: 429,
      code: 20429,
      message: 'Too Many Requests',
    })
    const { id } = (await sendSms(app, { phone, content: 'try again' })).json()
    const sms = await settled(app, id, 30_000)
    expect(sms).toMatchObject({ status: 'sent', attempts: 5, gateway: 'twilio' })
    expect(twilio.accepted.filter((m) => m.to === e164(phone))).toHaveLength(1)
  })

  it('a final refusal (invalid number) fails at once with Twilio’s code, the number left out', async () => {
    const phone = randomPhone()
    twilio.script.push({
      status: 400,
      code: 21211,
      message: "The 'To' number {To} is not a valid phone number.",
    })
    const { id } = (await sendSms(app, { phone, content: 'nobody there' })).json()
    const sms = await settled(app, id)
    expect(sms).toMatchObject({ status: 'failed', attempts: 1 })
    expect(sms.error).toMatch(/^twilio: code 21211 \(The 'To' number … is not a valid phone number\.\)$/)
    expect(sms.error).not.toContain(phone)
  })

  it('never logs the auth token, the phone or the text', async () => {
    const joined = logs.lines.join('')
    expect(joined).toContain('SMS') // the logger did capture the delivery lines
    expect(joined).not.toContain(AUTH_TOKEN)
    expect(joined).not.toContain(Buffer.from(`${ACCOUNT_SID}:${AUTH_TOKEN}`).toString('base64'))
    for (const m of twilio.accepted) {
      expect(joined).not.toContain(m.to.slice(3))
      expect(joined).not.toContain(m.body)
    }
  })
})

describe('twilio through a Messaging Service, and with a wrong auth token', () => {
  let twilio: Awaited<ReturnType<typeof startTwilioServer>>
  const apps: TestApp[] = []
  beforeAll(async () => {
    twilio = await startTwilioServer({
      accountSid: ACCOUNT_SID,
      authToken: AUTH_TOKEN,
      messagingServiceSid: SERVICE_SID,
    })
  })
  afterAll(async () => {
    await Promise.all(apps.map((a) => a.close()))
    await twilio?.close()
  })
  const start = async (env: Record<string, string>) => {
    const app = await startTestApp({
      env: { SMS_PROVIDER: 'twilio', TWILIO_ACCOUNT_SID: ACCOUNT_SID, TWILIO_URL: twilio.url, ...env },
    })
    apps.push(app)
    await app.start(['worker'])
    return app
  }

  it('sends MessagingServiceSid instead of From, and no StatusCallback when none is configured', async () => {
    const app = await start({ TWILIO_AUTH_TOKEN: AUTH_TOKEN, TWILIO_MESSAGING_SERVICE_SID: SERVICE_SID })
    const phone = randomPhone()
    const { id } = (await sendSms(app, { phone, content: 'via a service' })).json()
    expect(await settled(app, id)).toMatchObject({ status: 'sent', gateway: 'twilio' })
    expect(twilio.accepted.find((m) => m.to === e164(phone))).toEqual({
      sid: expect.any(String),
      to: e164(phone),
      messagingServiceSid: SERVICE_SID,
      body: 'via a service',
    })
    // Without TWILIO_STATUS_CALLBACK_URL there is no URL to check a signature against: every callback is refused.
    const params = { MessageSid: 'SMx', MessageStatus: 'delivered', AccountSid: ACCOUNT_SID }
    const res = await app.http.inject({
      method: 'POST',
      url: '/api/sms/receipts/twilio',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'x-twilio-signature': twilioSignature(AUTH_TOKEN, CALLBACK_URL, params),
      },
      payload: new URLSearchParams(params).toString(),
    })
    expect(res.statusCode).toBe(401)
  })

  it('a wrong auth token is refused with 20003 and the message fails for good', async () => {
    const app = await start({ TWILIO_AUTH_TOKEN: 'wrong-token', TWILIO_MESSAGING_SERVICE_SID: SERVICE_SID })
    const before = twilio.accepted.length
    const { id } = (await sendSms(app, { phone: randomPhone(), content: 'x' })).json()
    const sms = await settled(app, id)
    expect(sms).toMatchObject({ status: 'failed', attempts: 1 })
    expect(sms.error).toMatch(/code 20003/)
    expect(twilio.accepted).toHaveLength(before)
  })

  it('refuses to start with a malformed account SID or without a sender', () => {
    const env = { SMS_PROVIDER: 'twilio', TWILIO_AUTH_TOKEN: AUTH_TOKEN, TWILIO_FROM: FROM }
    expect(() => loadConfig({ ...env, TWILIO_ACCOUNT_SID: 'not-a-sid' })).toThrow(/TWILIO_ACCOUNT_SID/)
    expect(() => loadConfig({ ...env, TWILIO_ACCOUNT_SID: ACCOUNT_SID, TWILIO_FROM: '' })).toThrow(
      /TWILIO_FROM/,
    )
    expect(loadConfig({ ...env, TWILIO_ACCOUNT_SID: ACCOUNT_SID }).sms.providers).toEqual(['twilio'])
  })
})

describe('SMS_PROVIDER=twilio,ihuyi end to end', () => {
  let app: TestApp
  let twilio: Awaited<ReturnType<typeof startTwilioServer>>
  let ihuyi: Awaited<ReturnType<typeof startIhuyiServer>>
  beforeAll(async () => {
    twilio = await startTwilioServer({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN, from: FROM })
    ihuyi = await startIhuyiServer({ account: 'C1', password: 'apikey-0123456789' })
    app = await startTestApp({
      env: {
        SMS_PROVIDER: 'twilio,ihuyi',
        TWILIO_ACCOUNT_SID: ACCOUNT_SID,
        TWILIO_AUTH_TOKEN: AUTH_TOKEN,
        TWILIO_FROM: FROM,
        TWILIO_STATUS_CALLBACK_URL: CALLBACK_URL,
        TWILIO_URL: twilio.url,
        IHUYI_ACCOUNT: 'C1',
        IHUYI_PASSWORD: 'apikey-0123456789',
        IHUYI_URL: ihuyi.url,
        IHUYI_RECEIPT_SECRET: 'ihuyi-receipt-secret-0123456789',
      },
    })
    await app.start(['worker'])
  })
  afterAll(async () => {
    await app?.close()
    await twilio?.close()
    await ihuyi?.close()
  })

  it('Twilio throttling or refusing its credentials moves the SMS to ihuyi: one delivery, its receipt makes it delivered', async () => {
    twilio.script.push(
      { status: 429, code: 20429, message: 'Too Many Requests' },
      { status: 401, code: 20003, message: 'Authenticate' },
    )
    const phones = [randomPhone(), randomPhone()]
    for (const phone of phones) {
      const { id } = (await sendSms(app, { phone, content: 'one gateway only' })).json()
      const sms = await settled(app, id)
      const taken = ihuyi.accepted.filter((s) => s.mobile === phone)
      expect(taken).toHaveLength(1)
      expect(twilio.accepted.filter((m) => m.to === e164(phone))).toHaveLength(0)
      expect(sms).toMatchObject({ status: 'sent', gateway: 'ihuyi', attempts: 1 })
      expect(sms.receipts).toEqual([{ part: 1, messageId: taken[0]?.smsid, status: 'sent' }])
      const res = await app.http.inject({
        method: 'POST',
        url: '/api/sms/receipts/ihuyi?secret=ihuyi-receipt-secret-0123456789',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams({ code: '2', smsid: taken[0]?.smsid as string }).toString(),
      })
      expect(res.statusCode).toBe(200)
      expect((await getSms(app, id)).status).toBe('delivered')
    }
  })
})
