import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startIhuyiServer } from '../sms/gateways/ihuyi-server.ts'
import { randomPhone, sendSms, settled } from '../sms/support.ts'
import { startTestApp, type TestApp } from '../support/app.ts'
import { ensureBuilt, launchBrowser, screenshots, watchConsole } from './support.ts'

const SECRET = 'ihuyi-receipt-secret-0123456789'

// The admin UI's SMS view (issue 20 item 7) in Chromium, with messages sent through a gateway stand-in.
describe('admin SMS view in Chromium', () => {
  let app: TestApp
  let ihuyi: Awaited<ReturnType<typeof startIhuyiServer>>
  let browser: Awaited<ReturnType<typeof launchBrowser>>
  let base: string

  beforeAll(async () => {
    await ensureBuilt()
    ihuyi = await startIhuyiServer({ account: 'C1', password: 'apikey-0123456789' })
    app = await startTestApp({
      env: {
        SMS_PROVIDER: 'ihuyi',
        IHUYI_ACCOUNT: 'C1',
        IHUYI_PASSWORD: 'apikey-0123456789',
        IHUYI_URL: ihuyi.url,
        IHUYI_RECEIPT_SECRET: SECRET,
      },
    })
    await app.start(['api', 'worker'])
    base = await app.http.listen({ port: 0, host: '127.0.0.1' })
    browser = await launchBrowser()
  })
  afterAll(async () => {
    await browser?.close()
    await app?.close()
    await ihuyi?.close()
  })

  it('shows each message with its gateway, message id, receipt status and the gateway error', async () => {
    const delivered = randomPhone()
    const sent = (await sendSms(app, { phone: delivered, content: 'see you there' })).json().id
    await settled(app, sent)
    const smsid = ihuyi.accepted.find((s) => s.mobile === delivered)?.smsid as string
    await app.http.inject({
      method: 'POST',
      url: `/api/sms/receipts/ihuyi?secret=${SECRET}`,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({ code: '2', smsid, report_time: '2026-12-03 15:00:00' }).toString(),
    })
    ihuyi.script.push({ code: 4030, msg: '手机号码已被列入黑名单' })
    const failed = (await sendSms(app, { phone: randomPhone(), content: 'blocked' })).json().id
    await settled(app, failed)

    const token = app.auth.authorization.replace('Bearer ', '')
    await browser.context.addInitScript(
      `sessionStorage.setItem('hotspot.adminToken', ${JSON.stringify(token)})`,
    )
    const page = await browser.context.newPage()
    const console = watchConsole(page)
    await page.goto(`${base}/admin/sms`)
    await page.getByRole('heading', { name: 'SMS messages' }).waitFor()
    const okRow = page.locator(`tr[data-sms="${sent}"]`)
    await okRow.waitFor()
    expect(await okRow.locator('td[data-label="gateway"]').textContent()).toBe('ihuyi')
    expect(await okRow.locator('td[data-label="status"]').textContent()).toBe('delivered')
    const receipt = await okRow.locator('td[data-label="receipts"]').textContent()
    expect(receipt).toContain(smsid)
    expect(receipt).toContain('delivered')
    expect(receipt).toContain('2026-12-03 15:00:00')
    const badRow = page.locator(`tr[data-sms="${failed}"]`)
    expect(await badRow.locator('td[data-label="status"]').textContent()).toBe('failed')
    expect(await badRow.locator('td[data-label="error"]').textContent()).toContain('ihuyi: code 4030')
    expect(await page.locator('body').textContent()).not.toContain(delivered)
    await screenshots(page, 'admin-sms')

    // The status filter asks the API again and shows only those.
    await page.getByLabel('Status').selectOption('failed')
    await page.getByRole('button', { name: 'Filter' }).click()
    await okRow.waitFor({ state: 'detached' })
    expect(await page.locator('tr[data-sms]').count()).toBe(1)
    expect(console.unexpected()).toEqual([])
    await page.close()
  })
})
