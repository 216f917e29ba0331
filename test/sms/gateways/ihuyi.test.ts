import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { dbKinds, startTestApp, type TestApp } from '../../support/app.ts'
import { getSms, randomPhone, sendSms, settled } from '../support.ts'
import { capturedLogger } from './capture-log.ts'
import { startIhuyiServer } from './ihuyi-server.ts'

const ACCOUNT = 'C12345678'
const PASSWORD = 'ihuyi-apikey-0123456789abcdef'
const RECEIPT_SECRET = 'ihuyi-receipt-secret-0123456789'

describe.each(dbKinds)('SMS_PROVIDER=ihuyi on %s (a strict ihuyi stand-in)', (db) => {
  let app: TestApp
  let ihuyi: Awaited<ReturnType<typeof startIhuyiServer>>
  const logs = capturedLogger()
  beforeAll(async () => {
    ihuyi = await startIhuyiServer({ account: ACCOUNT, password: PASSWORD })
    app = await startTestApp({
      db,
      log: logs.log,
      env: {
        SMS_PROVIDER: 'ihuyi',
        IHUYI_ACCOUNT: ACCOUNT,
        IHUYI_PASSWORD: PASSWORD,
        IHUYI_URL: ihuyi.url,
        IHUYI_RECEIPT_SECRET: RECEIPT_SECRET,
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
    await ihuyi?.close()
  })

  const receipt = (secret: string, form: Record<string, string>) =>
    app.http.inject({
      method: 'POST',
      url: `/api/sms/receipts/ihuyi?secret=${encodeURIComponent(secret)}`,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams(form).toString(),
    })

  it('sends through ihuyi, shows gateway and message id, and a receipt makes it delivered', async () => {
    const phone = randomPhone()
    const { id } = (await sendSms(app, { phone, content: '您的订单已发货' })).json()
    const sms = await settled(app, id)
    expect(sms).toMatchObject({ status: 'sent', gateway: 'ihuyi', attempts: 1 })
    const sent = ihuyi.accepted.find((s) => s.mobile === phone)
    // The dynamic password (md5 with the time) proved the APIKEY: the key itself never went over the wire.
    expect(sent).toMatchObject({ content: '您的订单已发货', auth: 'dynamic' })
    expect(sms.receipts).toEqual([{ part: 1, messageId: sent?.smsid, status: 'sent' }])

    const ok = await receipt(RECEIPT_SECRET, {
      code: '2',
      msg: '发送成功',
      mobilephone: phone,
      smsid: sent?.smsid as string,
      report_time: '2026-12-03 15:00:00',
    })
    expect(ok.statusCode).toBe(200)
    expect(ok.body).toBe('success') // what ihuyi takes as received (§5); anything else is pushed again
    expect(await getSms(app, id)).toMatchObject({
      status: 'delivered',
      receipts: [{ part: 1, status: 'delivered', reportedAt: '2026-12-03 15:00:00' }],
    })
  })

  it('an undelivered receipt says why; a forged one (wrong secret) or one for an unknown id changes nothing', async () => {
    const phone = randomPhone()
    const { id } = (await sendSms(app, { phone, content: 'hello' })).json()
    await settled(app, id)
    const smsid = ihuyi.accepted.find((s) => s.mobile === phone)?.smsid as string
    const forged = await receipt('not-the-secret', { code: '2', smsid })
    expect(forged.statusCode).toBe(401)
    expect(forged.json().error.code).toBe('unauthorized')
    expect((await getSms(app, id)).status).toBe('sent')
    expect((await receipt(RECEIPT_SECRET, { code: '2', smsid: '999999999' })).statusCode).toBe(404)

    expect((await receipt(RECEIPT_SECRET, { code: '0', msg: 'UNDELIV', smsid })).statusCode).toBe(200)
    const after = await getSms(app, id)
    expect(after).toMatchObject({ status: 'undelivered', receipts: [{ status: 'undelivered' }] })
    expect(after.receipts[0].error).toMatch(/UNDELIV/)
    // A replayed "delivered" does not overwrite the first receipt.
    await receipt(RECEIPT_SECRET, { code: '2', smsid })
    expect((await getSms(app, id)).status).toBe('undelivered')
  })

  it('an HTML error page, an empty body, a hang and throttling are retried; it goes out exactly once', async () => {
    const phone = randomPhone()
    ihuyi.script.push('html-502', 'empty', 'hang', { code: 4085, msg: '同一手机号验证码短信发送超出5条' })
    const { id } = (await sendSms(app, { phone, content: 'try again' })).json()
    const sms = await settled(app, id, 30_000)
    expect(sms).toMatchObject({ status: 'sent', attempts: 5, gateway: 'ihuyi' })
    expect(ihuyi.accepted.filter((s) => s.mobile === phone)).toHaveLength(1)
  })

  it('"submit failed" (0) and an expired dynamic password (40501) are retried with a fresh time', async () => {
    const phone = randomPhone()
    ihuyi.script.push({ code: 0, msg: '提交失败' }, { code: 40501, msg: '动态密码已过期' })
    const { id } = (await sendSms(app, { phone, content: 'again please' })).json()
    expect(await settled(app, id, 30_000)).toMatchObject({ status: 'sent', attempts: 3 })
    expect(ihuyi.accepted.filter((s) => s.mobile === phone)).toHaveLength(1)
  })

  it('a final refusal (black-listed number) fails the message at once, with the gateway error', async () => {
    ihuyi.script.push({ code: 4030, msg: '手机号码已被列入黑名单' })
    const { id } = (await sendSms(app, { phone: randomPhone(), content: 'blocked' })).json()
    const sms = await settled(app, id)
    expect(sms).toMatchObject({ status: 'failed', attempts: 1 })
    expect(sms.error).toMatch(/ihuyi: code 4030/)
  })

  it('numbers outside mainland China fail for good (its domestic interface)', async () => {
    const { id } = (await sendSms(app, { phone: '+14155550123', content: 'hi' })).json()
    expect(await settled(app, id)).toMatchObject({ status: 'failed', attempts: 1 })
  })

  it('never logs the APIKEY, the phone or the text', async () => {
    const joined = logs.lines.join('')
    expect(joined).toContain('SMS') // the logger did capture the delivery lines
    expect(joined).not.toContain(PASSWORD)
    expect(joined).not.toContain(RECEIPT_SECRET)
    for (const s of ihuyi.accepted) {
      expect(joined).not.toContain(s.mobile)
      expect(joined).not.toContain(s.content)
    }
  })
})

describe('ihuyi with a wrong APIKEY', () => {
  let app: TestApp
  let ihuyi: Awaited<ReturnType<typeof startIhuyiServer>>
  beforeAll(async () => {
    ihuyi = await startIhuyiServer({ account: ACCOUNT, password: PASSWORD })
    app = await startTestApp({
      env: {
        SMS_PROVIDER: 'ihuyi',
        IHUYI_ACCOUNT: ACCOUNT,
        IHUYI_PASSWORD: 'wrong-key',
        IHUYI_URL: ihuyi.url,
      },
    })
    await app.start(['worker'])
  })
  afterAll(async () => {
    await app?.close()
    await ihuyi?.close()
  })

  it('the dynamic password does not check (40502) and the message fails for good', async () => {
    const { id } = (await sendSms(app, { phone: randomPhone(), content: 'x' })).json()
    const sms = await settled(app, id)
    expect(sms).toMatchObject({ status: 'failed', attempts: 1 })
    expect(sms.error).toMatch(/code 40502/)
    expect(ihuyi.accepted).toHaveLength(0)
  })
})
