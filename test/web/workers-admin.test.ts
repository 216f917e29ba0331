import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestApp, type TestApp } from '../support/app.ts'
import { ensureBuilt, launchBrowser, screenshots, watchConsole } from './support.ts'

/** The admin page's Workers section in Chromium: the worker from its heartbeats, and the revoke form. */
describe('admin workers page in Chromium', () => {
  let app: TestApp
  let base: string
  let browser: Awaited<ReturnType<typeof launchBrowser>>
  const name = `hs-page-${Date.now()}@localhost`

  beforeAll(async () => {
    await ensureBuilt()
    app = await startTestApp({ env: { WORKER_NAME: name } })
    await app.start(['api', 'worker'])
    base = await app.http.listen({ port: 0, host: '127.0.0.1' })
    browser = await launchBrowser()
  })
  afterAll(async () => {
    await browser?.close()
    await app?.close()
  })

  it('lists the worker online and revokes a countdown task, which is then REVOKED', async () => {
    const page = await browser.context.newPage()
    const console = watchConsole(page)
    await page.goto(`${base}/admin`)
    await page.getByLabel('Admin token').fill(app.auth.authorization.replace('Bearer ', ''))
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.getByRole('link', { name: 'Workers' }).click()
    const row = page.locator(`tr[data-worker="${name}"]`)
    await row
      .getByText('online')
      .waitFor({ timeout: 20_000 })
      .catch(async (e) => {
        await screenshots(page, 'admin-workers-fail')
        throw e
      })

    const taskId = await app.tasks.producer.send(
      'hotspot.add',
      [1, 2],
      {},
      {
        queue: app.config.tasks.ownQueue,
        countdown: 3,
      },
    )
    await page.getByLabel('Task id').fill(taskId)
    await page.getByRole('button', { name: 'Revoke' }).click()
    await page.getByText(`Revoked ${taskId}`).waitFor()
    await screenshots(page, 'admin-workers')
    expect((await app.tasks.results.wait(taskId, 30_000)).status).toBe('REVOKED')
    expect(console.unexpected()).toEqual([])
    await page.close()
  })
})
