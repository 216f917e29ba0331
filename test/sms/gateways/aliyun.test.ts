import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { rpcSignature } from '../../../src/sms/providers/aliyun-rpc.ts'
import { dbKinds, startTestApp, type TestApp } from '../../support/app.ts'
import { eventually, getSms, randomPhone, sendSms, settled } from '../support.ts'
import { aliyunSign, startAliyunServer } from './aliyun-server.ts'
import { capturedLogger } from './capture-log.ts'

const KEY_ID = 'LTAI5tTestKeyId0000'
const KEY_SECRET = 'aliyun-access-key-secret-0123456789'
const SIGN_NAME = 'hotspot'
const CODE_TEMPLATE = 'SMS_100000001'
const TEMPLATE = 'SMS_100000002'

describe('Aliyun signature v1', () => {
  // The worked example of "签名机制" (help.aliyun.com/document_detail/28839.html): testid / testsecret.
  const example = {
    TimeStamp: '2016-02-23T12:46:24Z',
    Format: 'XML',
    AccessKeyId: 'testid',
    Action: 'DescribeRegions',
    SignatureMethod: 'HMAC-SHA1',
    SignatureNonce: '3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf',
    Version: '2014-05-26',
    SignatureVersion: '1.0',
  }
  it("hotspot's signer and the stand-in's both give the documented signature", () => {
    expect(rpcSignature('GET', example, 'testsecret')).toBe('CT9X0VtwR86fNWSnsc6v8YGOjuE=')
    expect(aliyunSign('GET', example, 'testsecret')).toBe('CT9X0VtwR86fNWSnsc6v8YGOjuE=')
  })
  it('encodes the characters form encoding leaves alone (space, *, !, ~ kept)', () => {
    const params = { A: "a b*c!d'(e)~", B: '【签名】' }
    expect(rpcSignature('POST', params, 's')).toBe(aliyunSign('POST', params, 's'))
  })
})

describe.each(dbKinds)('SMS_PROVIDER=aliyun on %s (a strict dysmsapi stand-in)', (db) => {
  let app: TestApp
  let aliyun: Awaited<ReturnType<typeof startAliyunServer>>
  const logs = capturedLogger()
  beforeAll(async () => {
    aliyun = await startAliyunServer({
      accessKeyId: KEY_ID,
      accessKeySecret: KEY_SECRET,
      signName: SIGN_NAME,
      templates: { [CODE_TEMPLATE]: ['code'], [TEMPLATE]: ['content'] },
    })
    app = await startTestApp({
      db,
      log: logs.log,
      env: {
        SMS_PROVIDER: 'aliyun',
        ALIYUN_ACCESS_KEY_ID: KEY_ID,
        ALIYUN_ACCESS_KEY_SECRET: KEY_SECRET,
        ALIYUN_SIGN_NAME: SIGN_NAME,
        ALIYUN_CODE_TEMPLATE: CODE_TEMPLATE,
        ALIYUN_TEMPLATE: TEMPLATE,
        ALIYUN_URL: aliyun.url,
        ALIYUN_RECEIPT_POLL_SECONDS: '1',
        SMS_MAX_ATTEMPTS: '8',
        SMS_GATEWAY_TIMEOUT_MS: '500',
        SMS_BREAKER_FAILURES: '1000', // the breaker has its own test (failover.test.ts)
        SMS_RETRY_BASE_MS: '50',
        SMS_RETRY_MAX_SECONDS: '1',
      },
    })
    await app.start(['worker', 'beat'])
  })
  afterAll(async () => {
    await app?.close()
    await aliyun?.close()
  })

  const statusOf = (id: string, want: string) =>
    eventually(async () => {
      const sms = await getSms(app, id)
      return sms.status === want ? sms : undefined
    })

  it('sends a plain SMS through ALIYUN_TEMPLATE; the polled report makes it delivered', async () => {
    const phone = randomPhone()
    const { id } = (await sendSms(app, { phone, content: '您的订单已发货' })).json()
    const sms = await settled(app, id)
    expect(sms).toMatchObject({ status: 'sent', gateway: 'aliyun', attempts: 1 })
    const sent = aliyun.accepted.find((s) => s.phone === phone)
    expect(sent).toMatchObject({ templateCode: TEMPLATE, params: { content: '您的订单已发货' } })
    expect(sms.receipts).toEqual([{ part: 1, messageId: sent?.bizId, status: 'sent' }])
    // Not reported yet: the poll asks and leaves it `sent`.
    await eventually(async () => (aliyun.actions.includes('QuerySendDetails') ? true : undefined))
    expect((await getSms(app, id)).status).toBe('sent')

    aliyun.report(sent?.bizId as string, true)
    const delivered = await statusOf(id, 'delivered')
    expect(delivered.receipts).toMatchObject([{ part: 1, status: 'delivered' }])
    expect(delivered.receipts[0].reportedAt).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/)
  })

  it('a verification code goes through ALIYUN_CODE_TEMPLATE as {"code"}, and that code checks', async () => {
    const phone = randomPhone()
    const res = await app.http.inject({ method: 'POST', url: '/api/verification-codes', payload: { phone } })
    expect(res.statusCode).toBe(202)
    await settled(app, res.json().smsId)
    const sent = aliyun.accepted.find((s) => s.phone === phone)
    expect(sent?.templateCode).toBe(CODE_TEMPLATE)
    expect(Object.keys(sent?.params ?? {})).toEqual(['code'])
    expect(sent?.params.code).toMatch(/^\d{6}$/)
    const check = await app.http.inject({
      method: 'POST',
      url: '/api/verification-codes/check',
      payload: { phone, code: sent?.params.code },
    })
    expect(check.json()).toEqual({ valid: true })
  })

  it('a failed report makes it undelivered with the error code; a later "delivered" changes nothing', async () => {
    const phone = randomPhone()
    const { id } = (await sendSms(app, { phone, content: 'hello' })).json()
    await settled(app, id)
    const bizId = aliyun.accepted.find((s) => s.phone === phone)?.bizId as string
    aliyun.report(bizId, false, 'MOBILE_NOT_ON_SERVICE')
    const after = await statusOf(id, 'undelivered')
    expect(after.receipts[0]).toMatchObject({
      status: 'undelivered',
      error: 'aliyun receipt MOBILE_NOT_ON_SERVICE',
    })
    aliyun.report(bizId, true)
    await new Promise((r) => setTimeout(r, 1500))
    expect((await getSms(app, id)).status).toBe('undelivered')
  })

  it('an HTML page, an empty body, a hang, a 5xx, throttling are retried; it goes out exactly once', async () => {
    const phone = randomPhone()
    aliyun.script.push(
      'html-502',
      'empty',
      'hang',
      {
        status: 503,
        Code: 'ServiceUnavailable',
        Message: 'The request has failed due to a temporary failure.',
      },
      { Code: 'isv.BUSINESS_LIMIT_CONTROL', Message: '触发分钟级流控Permits:1' },
    )
    const { id } = (await sendSms(app, { phone, content: 'try again' })).json()
    const sms = await settled(app, id, 30_000)
    expect(sms).toMatchObject({ status: 'sent', attempts: 6, gateway: 'aliyun' })
    expect(aliyun.accepted.filter((s) => s.phone === phone)).toHaveLength(1)
  }, 40_000)

  it('final refusals (malformed number, no balance) fail at once with the gateway code', async () => {
    for (const [Code, Message] of [
      ['isv.MOBILE_NUMBER_ILLEGAL', '非法手机号'],
      ['isv.AMOUNT_NOT_ENOUGH', '账户余额不足'],
    ] as const) {
      aliyun.script.push({ Code, Message })
      const { id } = (await sendSms(app, { phone: randomPhone(), content: 'blocked' })).json()
      const sms = await settled(app, id)
      expect(sms).toMatchObject({ status: 'failed', attempts: 1 })
      expect(sms.error).toContain(`aliyun: ${Code}`)
    }
  })

  it('never logs the AccessKey secret, the phone, the text or the code', async () => {
    const joined = logs.lines.join('')
    expect(joined).toContain('SMS')
    expect(joined).not.toContain(KEY_SECRET)
    for (const s of aliyun.accepted) {
      expect(joined).not.toContain(s.phone)
      for (const value of Object.values(s.params)) expect(joined).not.toContain(value)
    }
  })
})

describe('Aliyun with a wrong AccessKey secret, and without a template for plain SMS', () => {
  let app: TestApp
  let aliyun: Awaited<ReturnType<typeof startAliyunServer>>
  beforeAll(async () => {
    aliyun = await startAliyunServer({
      accessKeyId: KEY_ID,
      accessKeySecret: KEY_SECRET,
      signName: SIGN_NAME,
      templates: { [CODE_TEMPLATE]: ['code'] },
    })
    app = await startTestApp({
      env: {
        SMS_PROVIDER: 'aliyun',
        ALIYUN_ACCESS_KEY_ID: KEY_ID,
        ALIYUN_ACCESS_KEY_SECRET: 'not-the-secret',
        ALIYUN_SIGN_NAME: SIGN_NAME,
        ALIYUN_CODE_TEMPLATE: CODE_TEMPLATE,
        ALIYUN_URL: aliyun.url,
      },
    })
    await app.start(['worker'])
  })
  afterAll(async () => {
    await app?.close()
    await aliyun?.close()
  })

  it('the stand-in answers SignatureDoesNotMatch (HTTP 400) and the code SMS fails for good', async () => {
    const phone = randomPhone()
    const res = await app.http.inject({ method: 'POST', url: '/api/verification-codes', payload: { phone } })
    const sms = await settled(app, res.json().smsId)
    expect(sms).toMatchObject({ status: 'failed', attempts: 1 })
    expect(sms.error).toMatch(/SignatureDoesNotMatch/)
    expect(aliyun.accepted).toHaveLength(0)
  })

  it('a plain SMS with no ALIYUN_TEMPLATE fails for good without a call', async () => {
    const before = aliyun.actions.length
    const { id } = (await sendSms(app, { phone: randomPhone(), content: 'no template' })).json()
    const sms = await settled(app, id)
    expect(sms).toMatchObject({ status: 'failed', attempts: 1 })
    expect(sms.error).toMatch(/ALIYUN_TEMPLATE/)
    expect(aliyun.actions.length).toBe(before)
  })
})
