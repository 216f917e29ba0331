import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { dbKinds, startTestApp, type TestApp } from '../../support/app.ts'
import { randomPhone, sendSms, settled } from '../support.ts'
import { startIhuyiServer } from './ihuyi-server.ts'

const ACCOUNT = 'C12345678'
const PASSWORD = 'ihuyi-apikey-0123456789abcdef'
const SECRET = 'ihuyi-receipt-secret-0123456789'

// GET /api/sms (admin): the newest messages with gateway, message ids, receipt status and the gateway's error
// text (issue 20 item 7: what the admin UI's SMS view shows).
describe.each(dbKinds)('the admin SMS list on %s', (db) => {
  let app: TestApp
  let ihuyi: Awaited<ReturnType<typeof startIhuyiServer>>
  const phones = { delivered: randomPhone(), undelivered: randomPhone(), failed: randomPhone() }
  const ids: Record<keyof typeof phones, string> = { delivered: '', undelivered: '', failed: '' }

  beforeAll(async () => {
    ihuyi = await startIhuyiServer({ account: ACCOUNT, password: PASSWORD })
    app = await startTestApp({
      db,
      env: {
        SMS_PROVIDER: 'ihuyi',
        IHUYI_ACCOUNT: ACCOUNT,
        IHUYI_PASSWORD: PASSWORD,
        IHUYI_URL: ihuyi.url,
        IHUYI_RECEIPT_SECRET: SECRET,
      },
    })
    await app.start(['worker'])
    const receipt = (form: Record<string, string>) =>
      app.http.inject({
        method: 'POST',
        url: `/api/sms/receipts/ihuyi?secret=${SECRET}`,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams(form).toString(),
      })
    for (const kind of ['delivered', 'undelivered', 'failed'] as const) {
      if (kind === 'failed') ihuyi.script.push({ code: 4030, msg: '手机号码已被列入黑名单' })
      ids[kind] = (await sendSms(app, { phone: phones[kind], content: `an SMS to be ${kind}` })).json().id
      await settled(app, ids[kind])
      const smsid = ihuyi.accepted.find((s) => s.mobile === phones[kind])?.smsid
      if (kind === 'delivered') await receipt({ code: '2', smsid: smsid as string })
      if (kind === 'undelivered') await receipt({ code: '0', msg: 'UNDELIV', smsid: smsid as string })
    }
  })
  afterAll(async () => {
    await app?.close()
    await ihuyi?.close()
  })

  const list = (query = '', auth = true) =>
    app.http.inject({ method: 'GET', url: `/api/sms${query}`, headers: auth ? app.auth : {} })

  it('shows the newest first with gateway, message id, receipt status and the gateway error', async () => {
    const res = await list()
    expect(res.statusCode).toBe(200)
    const messages = res.json().messages
    expect(messages.map((m: { id: string }) => m.id)).toEqual([ids.failed, ids.undelivered, ids.delivered])
    const smsid = (phone: string) => ihuyi.accepted.find((s) => s.mobile === phone)?.smsid
    expect(messages[2]).toMatchObject({
      status: 'delivered',
      gateway: 'ihuyi',
      receipts: [{ part: 1, messageId: smsid(phones.delivered), status: 'delivered' }],
    })
    expect(messages[1]).toMatchObject({
      status: 'undelivered',
      gateway: 'ihuyi',
      receipts: [
        {
          messageId: smsid(phones.undelivered),
          status: 'undelivered',
          error: expect.stringMatching(/UNDELIV/),
        },
      ],
    })
    expect(messages[0].status).toBe('failed')
    expect(messages[0].error).toMatch(/ihuyi: code 4030/)
    expect(messages[0].receipts).toBeUndefined()
    // Phones are masked; the text is not in the list.
    for (const phone of Object.values(phones)) expect(res.body).not.toContain(phone)
    expect(res.body).not.toContain('an SMS to be')
  })

  it('filters by status and by phone, and pages by limit', async () => {
    expect((await list('?status=failed')).json().messages.map((m: { id: string }) => m.id)).toEqual([
      ids.failed,
    ])
    const byPhone = (await list(`?phone=${phones.undelivered}`)).json().messages
    expect(byPhone.map((m: { id: string }) => m.id)).toEqual([ids.undelivered])
    expect((await list('?limit=1')).json().messages).toHaveLength(1)
  })

  it('is for the admin only, and refuses bad filters', async () => {
    const anonymous = await list('', false)
    expect(anonymous.statusCode).toBe(401)
    expect(anonymous.body).not.toContain(ids.delivered)
    expect((await list('?status=lost')).json().error.code).toBe('validation_failed')
    expect((await list('?phone=12')).json().error.code).toBe('invalid_phone')
    expect((await list('?limit=0')).statusCode).toBe(400)
  })
})
