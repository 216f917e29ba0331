import type { BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestApp, type TestApp } from '../support/app.ts'
import { deliveredText } from '../verification/support.ts'
import {
  createItem,
  createProduct,
  ensureBuilt,
  launchBrowser,
  recordViews,
  screenshots,
  watchConsole,
} from './support.ts'

const TOKEN_KEY = 'hotspot.adminToken'
const randomDigits = (n: number) => Array.from({ length: n }, () => Math.floor(Math.random() * 10)).join('')

describe('web UI in Chromium', () => {
  let app: TestApp
  let other: TestApp
  let base: string
  let browser: Awaited<ReturnType<typeof launchBrowser>>
  let context: BrowserContext
  let hasVerification = false

  beforeAll(async () => {
    await ensureBuilt()
    app = await startTestApp()
    await app.start(['api', 'worker'])
    base = await app.http.listen({ port: 0, host: '127.0.0.1' })
    // Another API process of the same deployment (same key prefix, same database): views recorded there must
    // show up live on pages served by the first.
    other = await startTestApp({ keyPrefix: app.prefix, databaseUrl: app.config.databaseUrl })
    const probe = await app.http.inject({ method: 'POST', url: '/api/verification-codes', payload: {} })
    hasVerification = probe.statusCode !== 404
    browser = await launchBrowser()
    context = browser.context
  })
  afterAll(async () => {
    await browser?.close()
    await other?.close()
    await app?.close()
  })

  async function open(path: string): Promise<{ page: Page; console: ReturnType<typeof watchConsole> }> {
    const page = await context.newPage()
    const console = watchConsole(page)
    await page.goto(`${base}${path}`)
    return { page, console }
  }

  it('home: banners, latest items, ranking tabs, and a view counted on another process shows live', async () => {
    const alpha = await createItem(app, 'Alpha article')
    const beta = await createItem(app, 'Beta video', 'video')
    const gamma = await createItem(app, 'Gamma article')
    await recordViews(app, alpha.id, ['a', 'b', 'c'])
    await recordViews(app, beta.id, ['a'])

    const { page, console } = await open('/')
    await page.locator('.item-list .item-row').first().waitFor()
    expect(await page.locator('.item-list .item-title').allTextContents()).toEqual([
      'Gamma article',
      'Beta video',
      'Alpha article',
    ])
    // The three demo banners, the first one visible, with working controls.
    expect(await page.locator('.carousel .slide').count()).toBe(3)
    expect(await page.locator('.carousel .slide:visible .slide-title').textContent()).toBe(
      'Most viewed this week',
    )
    await page.getByRole('button', { name: 'Next banner' }).click()
    expect(await page.locator('.carousel .slide:visible .slide-title').textContent()).toContain('Flash sale')

    const rankingTitles = () => page.locator('.ranking-list .ranking-title').allTextContents()
    await expect.poll(rankingTitles).toEqual(['Alpha article', 'Beta video'])
    for (const tab of ['This month', 'Trending', 'All time']) {
      await page.getByRole('tab', { name: tab }).click()
      expect(await page.getByRole('tab', { name: tab }).getAttribute('aria-selected')).toBe('true')
      await expect.poll(rankingTitles).toEqual(['Alpha article', 'Beta video'])
    }

    // Live: with the stream open the page does not poll, so a changed count can only come through it.
    await page.locator('.live-badge[data-state="live"]').first().waitFor()
    const betaViews = page.locator(`.item-row[data-item-id="${beta.id}"] .live-number`)
    expect(await betaViews.textContent()).toBe('1')
    await recordViews(
      other,
      beta.id,
      ['p', 'q', 'r', 's', 't'].map((v) => `other-${v}`),
    )
    await betaViews.filter({ hasText: /^6$/ }).waitFor({ timeout: 5000 })
    // The ranking follows: Beta (6) now leads Alpha (3).
    await expect.poll(rankingTitles, { timeout: 5000 }).toEqual(['Beta video', 'Alpha article'])
    expect(await page.locator(`.item-row[data-item-id="${gamma.id}"] .live-number`).textContent()).toBe('0')

    await screenshots(page, 'home')
    expect(console.unexpected()).toEqual([])
    await page.close()
  })

  it('home: when the event stream is unreachable, the page polls and still shows new counts', async () => {
    const item = await createItem(app, 'Polled article')
    const page = await context.newPage()
    const console = watchConsole(page)
    await page.route('**/api/events', (route) => route.abort()) // a proxy that drops streams, say
    await page.goto(`${base}/`)
    await page.locator('.live-badge[data-state="polling"]').first().waitFor()
    const views = page.locator(`.item-row[data-item-id="${item.id}"] .live-number`)
    expect(await views.textContent()).toBe('0')
    await recordViews(other, item.id, ['m', 'n'])
    await views.filter({ hasText: /^2$/ }).waitFor({ timeout: 10_000 })
    // Chromium reports each refused stream attempt; nothing else may show up.
    expect(console.unexpected([], [/api\/events|net::ERR_FAILED/])).toEqual([])
    await page.close()
  })

  it('item page: opening it records a view and shows views and unique visitors', async () => {
    const item = await createItem(app, 'Read me')
    await recordViews(app, item.id, ['x', 'y'])
    const { page, console } = await open(`/items/${item.id}`)
    expect(await page.locator('h1').textContent()).toBe('Read me')
    const views = page.locator('[data-testid="views"] .live-number')
    const unique = page.locator('[data-testid="unique-visitors"] .live-number')
    await views.filter({ hasText: /^3$/ }).waitFor()
    expect(await unique.textContent()).toBe('3')
    // Its place in today's ranking, among every item viewed today.
    await page
      .locator('[data-testid="rank"]')
      .filter({ hasText: /^#\d+\s*of \d+ today$/ })
      .waitFor()
    // The first answer set the hs_vid cookie: from now on this browser is one visitor.
    await page.reload()
    await views.filter({ hasText: /^4$/ }).waitFor()
    const visitors = await unique.textContent()
    await page.reload()
    await views.filter({ hasText: /^5$/ }).waitFor()
    expect(await unique.textContent()).toBe(visitors)
    expect((await context.cookies(base)).some((c) => c.name === 'hs_vid')).toBe(true)
    await screenshots(page, 'item')

    await page.goto(`${base}/items/987654321`)
    await page.getByText('This item does not exist').waitFor()
    expect(console.unexpected([404])).toEqual([])
    await page.close()
  })

  it('SMS page: segment preview, sending, the countdown after the limit, clear errors', async () => {
    const phone = `139${randomDigits(8)}`
    const { page, console } = await open('/sms')
    await page.getByLabel('Phone number').first().fill(phone)
    const message = page.getByLabel('Message')
    await message.fill('Hello from hotspot')
    expect(await page.getByTestId('encoding').textContent()).toBe('GSM-7')
    expect(await page.getByTestId('segments').textContent()).toBe('1 segment')
    await message.fill('你好，世界')
    expect(await page.getByTestId('encoding').textContent()).toBe('UCS-2')
    await message.fill('a'.repeat(161))
    expect(await page.getByTestId('segments').textContent()).toBe('2 segments')
    await message.fill('€'.repeat(1000))
    await page.getByText('Too long: at most 10 segments').waitFor()
    expect(await page.getByRole('button', { name: 'Send SMS' }).isDisabled()).toBe(true)

    // One SMS through the page: accepted, then delivered by the worker.
    await message.fill('Your parcel is on its way')
    await page.getByRole('button', { name: 'Send SMS' }).click()
    const accepted = page.getByTestId('sms-accepted')
    await accepted.getByText('1 segment, GSM-7').waitFor()
    await accepted.getByText('Status: sent').waitFor({ timeout: 15_000 })

    // Use up the rest of the phone's quota (5 segments a minute), then the page shows the wait.
    for (let i = 0; i < 4; i++) {
      const res = await app.http.inject({
        method: 'POST',
        url: '/api/sms',
        payload: { phone, content: `n${i}` },
      })
      expect(res.statusCode).toBe(202)
    }
    await page.getByRole('button', { name: 'Send SMS' }).click()
    const countdown = page.getByTestId('sms-countdown')
    await countdown.waitFor()
    const secondsLeft = async () =>
      Number(/again in\s+(\d+)/.exec((await countdown.textContent()) ?? '')?.[1])
    const first = await secondsLeft()
    expect(first).toBeGreaterThanOrEqual(1)
    expect(first).toBeLessThanOrEqual(60)
    expect(await page.getByRole('button', { name: /^Wait \d+ s$/ }).isDisabled()).toBe(true)
    await expect.poll(secondsLeft, { timeout: 5000 }).toBeLessThan(first)
    await screenshots(page, 'sms')

    // Another phone is not limited; an invalid one gets the sentence of invalid_phone.
    await page.getByLabel('Phone number').first().fill('12345')
    await page.getByRole('button', { name: 'Send SMS' }).click()
    await page.getByText('That phone number is not valid').waitFor()
    expect(console.unexpected([400, 429])).toEqual([])
    await page.close()
  })

  it('SMS page: request a verification code, a wrong one, then the right one', async (ctx) => {
    if (!hasVerification) ctx.skip() // the verification feature is not in this build yet
    const phone = `137${randomDigits(8)}`
    const { page, console } = await open('/sms#verify')
    const form = page.locator('#verify')
    await form.getByLabel('Phone number').fill(phone)
    await form.getByRole('button', { name: 'Send code' }).click()
    await form.getByText('A 6-digit code is on its way').waitFor()
    expect(await form.getByRole('button', { name: /^Send again in \d+ s$/ }).isDisabled()).toBe(true)

    // The outbox provider "delivered" it: admins see it masked, the phone's copy is sealed (issue 15 item 11).
    let code = ''
    await expect
      .poll(
        async () => {
          const res = await app.http.inject({
            method: 'GET',
            url: `/api/sms/outbox?phone=${encodeURIComponent(`+86${phone}`)}`,
            headers: app.auth,
          })
          const part = res.json().parts?.[0] as { smsId: string; body: string } | undefined
          if (!part) return ''
          expect(part.body).not.toMatch(/\d{6}/)
          code = /\b(\d{6})\b/.exec((await deliveredText(app, part.smsId)) ?? '')?.[1] ?? ''
          return code
        },
        { timeout: 15_000 },
      )
      .toMatch(/^\d{6}$/)
    const wrong = code === '000000' ? '111111' : '000000'
    await form.getByLabel('Code').fill(wrong)
    await form.getByRole('button', { name: 'Check code' }).click()
    await form.getByText(/That code is not right\. 4 attempts left\./).waitFor()
    await form.getByLabel('Code').fill(code)
    await form.getByRole('button', { name: 'Check code' }).click()
    await page.getByTestId('code-valid').waitFor()
    await screenshots(page, 'verification')
    expect(console.unexpected([400])).toEqual([])
    await page.close()
  })

  it('flash sale: countdown, buy → processing → confirmed until sold out, with orders created by the worker', async () => {
    const now = Date.now()
    const sale = await createProduct(app, { name: 'Lucky box', stock: 3, price: 19.9 })
    const soon = await createProduct(app, {
      name: 'Opens soon',
      stock: 5,
      startsAt: new Date(now + 8000).toISOString(),
    })
    await createProduct(app, {
      name: 'Yesterday deal',
      stock: 5,
      startsAt: new Date(now - 7200_000).toISOString(),
      endsAt: new Date(now - 3600_000).toISOString(),
    })
    const { page, console } = await open('/flash-sale')
    const taskPolls: string[] = []
    page.on('request', (request) => {
      if (/\/api\/tasks\//.test(request.url())) taskPolls.push(request.url())
    })
    const card = (name: string) =>
      page.locator('article.product', { has: page.getByRole('heading', { name }) })
    const user = page.getByLabel('Your user id')

    await card('Yesterday deal').getByText('The sale has ended.').waitFor()
    expect(await card('Yesterday deal').getByRole('button', { name: 'Buy' }).isDisabled()).toBe(true)
    await card('Opens soon')
      .getByText(/Starts in 0:0\d/)
      .waitFor()
    expect(await card('Opens soon').getByRole('button', { name: 'Buy' }).isDisabled()).toBe(true)

    const lucky = card('Lucky box')
    for (const buyer of ['ann', 'bob', 'cy']) {
      await user.fill(buyer)
      await lucky.getByRole('button', { name: 'Buy' }).click()
      await lucky
        .getByTestId('buy-result')
        .getByText(/Order #\d+ confirmed/)
        .waitFor({ timeout: 15_000 })
      expect(await lucky.getByRole('button', { name: 'Bought ✓' }).isDisabled()).toBe(true)
      if (buyer === 'ann') {
        // Once is the limit: after a reload (the page forgot), the server refuses with a clear sentence.
        await page.reload()
        expect(await user.inputValue()).toBe('ann') // the id is remembered
        await lucky.getByRole('button', { name: 'Buy' }).click()
        await lucky.getByText('You already bought this product: one per person.').waitFor()
      }
    }
    expect(taskPolls.length).toBeGreaterThanOrEqual(3) // the page polled GET /api/tasks/:id for each order
    await lucky.getByText('Sold out.').waitFor({ timeout: 5000 })
    expect(await lucky.getByTestId('remaining').textContent()).toBe('0')
    await user.fill('eve') // someone new: still no way to buy
    expect(await lucky.getByRole('button', { name: 'Buy' }).isDisabled()).toBe(true)

    // The worker really wrote the three orders, one per buyer.
    const orders = await app.http.inject({
      method: 'GET',
      url: `/api/orders?productId=${sale.id}`,
      headers: app.auth,
    })
    expect(
      orders
        .json()
        .orders.map((o: { userId: string }) => o.userId)
        .sort(),
    ).toEqual(['ann', 'bob', 'cy'])

    // The countdown reaches zero and the button opens by itself.
    await user.fill('dee')
    const opening = card('Opens soon').getByRole('button', { name: 'Buy' })
    expect(await page.locator('article.product h2').allTextContents()).toEqual([
      'Lucky box',
      'Opens soon',
      'Yesterday deal',
    ])
    await expect.poll(() => opening.isEnabled(), { timeout: 15_000 }).toBe(true)
    await opening.click()
    await card('Opens soon')
      .getByText(/Order #\d+ confirmed/)
      .waitFor({ timeout: 15_000 })
    const late = await app.http.inject({
      method: 'GET',
      url: `/api/orders?productId=${soon.id}`,
      headers: app.auth,
    })
    expect(late.json().orders.map((o: { userId: string }) => o.userId)).toEqual(['dee'])

    await screenshots(page, 'flash-sale')
    expect(console.unexpected([409])).toEqual([])
    await page.close()
  })

  it('admin: token prompt (tab only), banner edit shows on the home page, products, queues, outbox', async () => {
    const { page, console } = await open('/admin')
    await page.getByLabel('Admin token').fill('not-the-token')
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.getByText('That token was refused').waitFor()
    await screenshots(page, 'admin-signin')
    await page.getByLabel('Admin token').fill(app.auth.authorization.replace('Bearer ', ''))
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.getByRole('heading', { name: 'Banners' }).waitFor()
    const stored = await page.evaluate(
      `({ session: sessionStorage.getItem('${TOKEN_KEY}'), local: localStorage.getItem('${TOKEN_KEY}') })`,
    )
    expect(stored).toEqual({ session: app.auth.authorization.replace('Bearer ', ''), local: null })

    // Edit the first banner's title.
    const row = page.locator('.banner-row').first()
    await row.getByLabel('Title').fill('Edited in the admin')
    await row.getByRole('button', { name: 'Save' }).click()
    await row.getByText('Saved.').waitFor()
    await screenshots(page, 'admin-banners')
    const home = await context.newPage()
    await home.goto(`${base}/`)
    await home.locator('.carousel .slide').first().waitFor({ state: 'attached' })
    expect(await home.locator('.carousel .slide-title').allTextContents()).toContain('Edited in the admin')
    await home.close()

    // A product made in the admin shows up in its list.
    await page.getByRole('link', { name: 'Products' }).click()
    await page.getByLabel('Name').fill('Admin special')
    await page.getByLabel('Stock').fill('7')
    await page.getByRole('button', { name: 'Create product' }).click()
    await page.getByText(/“Admin special” created/).waitFor()
    await page
      .getByRole('row', { name: /Admin special/ })
      .getByText('7 / 7')
      .waitFor()
    await screenshots(page, 'admin-products')

    // Queues: the worker's queues with their consumers; a failed task in the dead letters, replayed.
    const failed = (
      await app.http.inject({
        method: 'POST',
        url: '/api/tasks',
        headers: app.auth,
        payload: { name: 'hotspot.fail', args: ['seen in the admin'] },
      })
    ).json().taskId as string
    expect((await app.tasks.results.wait(failed, 10_000)).status).toBe('FAILURE')
    await page.getByRole('link', { name: 'Task queues' }).click()
    await page.getByRole('row', { name: new RegExp(`${app.prefix}\\.hotspot`) }).waitFor()
    await page.getByRole('button', { name: 'Show dead letters' }).click()
    const letter = page.locator(`tr[data-task-id="${failed}"]`)
    await letter.waitFor({ timeout: 10_000 })
    await letter.getByRole('button', { name: /^Replay/ }).click()
    await page.getByText('Replayed 1').waitFor()
    await screenshots(page, 'admin-queues')

    await page.getByRole('link', { name: 'SMS outbox' }).click()
    await page.getByRole('heading', { name: 'SMS outbox' }).waitFor()
    await page.locator('.outbox-list, .empty').first().waitFor()
    await screenshots(page, 'admin-outbox')

    await page.getByRole('link', { name: 'Docs & metrics' }).click()
    expect(await page.getByRole('link', { name: 'Prometheus metrics' }).getAttribute('href')).toBe('/metrics')
    expect(await page.getByRole('link', { name: 'API documentation' }).getAttribute('href')).toBe('/docs')
    expect(console.unexpected([401])).toEqual([])
    await page.close()
  })
})
