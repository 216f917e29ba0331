import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestApp, type TestApp } from '../support/app.ts'
import { createItem, ensureBuilt, launchBrowser } from './support.ts'

const METRICS_TOKEN = 'metrics-token-0123456789abcdef'

/** Every CSP violation a page reports, caught in the page itself (the console only sees some of them). */
async function watchViolations(page: Page): Promise<() => Promise<string[]>> {
  // Strings, not functions: they run in the page, and this project's TypeScript has no DOM types.
  await page.addInitScript(`
    window.__violations = []
    document.addEventListener('securitypolicyviolation', (event) =>
      window.__violations.push(event.violatedDirective + ' ' + event.blockedURI))
  `)
  return () => page.evaluate('window.__violations') as Promise<string[]>
}

describe('security headers and the metrics token', () => {
  let app: TestApp
  let base: string

  beforeAll(async () => {
    await ensureBuilt()
    app = await startTestApp({ env: { METRICS_TOKEN } })
    await app.start(['api'])
    base = await app.http.listen({ port: 0, host: '127.0.0.1' })
  })
  afterAll(async () => {
    await app?.close()
  })

  it('every answer carries CSP, frame-ancestors, nosniff and a referrer policy: JSON, errors, the UI, the event stream (under /api/ the API set)', async () => {
    const controller = new AbortController()
    const answers = await Promise.all([
      fetch(`${base}/api/items`, { signal: AbortSignal.timeout(5000) }),
      fetch(`${base}/api/nowhere`, { signal: AbortSignal.timeout(5000) }),
      fetch(`${base}/api/items/abc`, { signal: AbortSignal.timeout(5000) }),
      fetch(`${base}/healthz`, { signal: AbortSignal.timeout(5000) }),
      fetch(`${base}/`, { headers: { accept: 'text/html' }, signal: AbortSignal.timeout(5000) }),
      fetch(`${base}/api/events`, { signal: controller.signal }),
    ])
    try {
      expect(answers.map((res) => res.status)).toEqual([200, 404, 400, 200, 200, 200])
      for (const res of answers) {
        const csp = res.headers.get('content-security-policy') ?? ''
        if (new URL(res.url).pathname.startsWith('/api/')) {
          // JSON and the event stream: a policy that allows nothing, should one be opened as a document.
          expect(csp).toBe("default-src 'none';frame-ancestors 'none'")
          expect(res.headers.get('cross-origin-resource-policy')).toBe('same-origin')
        } else {
          expect(csp).toContain("default-src 'self'")
          expect(csp).toContain("frame-ancestors 'none'")
          expect(csp).toContain("object-src 'none'")
        }
        expect(csp).not.toContain('unsafe-inline')
        expect(res.headers.get('x-content-type-options')).toBe('nosniff')
        expect(res.headers.get('referrer-policy')).toBe('no-referrer')
        expect(res.headers.get('x-frame-options')).toBe('DENY')
        expect(res.headers.get('x-powered-by')).toBeNull()
      }
    } finally {
      controller.abort()
    }
  })

  it('the UI and /docs run under their CSP in Chromium: no violation, its inline prefetch script allowed by hash', async () => {
    await createItem(app, 'Under a strict policy')
    const browser = await launchBrowser()
    try {
      const page = await browser.context.newPage()
      const violations = await watchViolations(page)
      await page.goto(`${base}/`)
      await page.locator('.item-list .item-row').first().waitFor()
      // The inline script of index.html ran (it is allowed by its hash, not by 'unsafe-inline').
      expect(await page.evaluate('typeof window.__hotspotPrefetch')).toBe('object')
      await page.goto(`${base}/sms`)
      await page.locator('input').first().waitFor()
      expect(await violations()).toEqual([])

      // An inline script the page did not ship is refused: the policy is real, not report-only.
      const injected = await page.evaluate(`(() => {
        const script = document.createElement('script')
        script.textContent = 'window.__injected = true'
        document.head.append(script)
        return window.__injected === true
      })()`)
      expect(injected).toBe(false)
      expect(await violations()).toEqual(['script-src-elem inline'])

      await page.goto(`${base}/docs`)
      await page.locator('.swagger-ui .opblock').first().waitFor()
      expect(await violations()).toEqual([])
      await page.close()
    } finally {
      await browser.close()
    }
  })

  it('GET /metrics needs METRICS_TOKEN when it is set: 401 unauthorized without it or with a wrong one', async () => {
    const metrics = (authorization?: string) =>
      fetch(`${base}/metrics`, {
        headers: authorization ? { authorization } : {},
        signal: AbortSignal.timeout(5000),
      })
    for (const authorization of [
      undefined,
      'Bearer wrong-token-0123456789',
      `Basic ${METRICS_TOKEN}`,
      app.auth.authorization,
    ]) {
      const res = await metrics(authorization)
      expect(res.status).toBe(401)
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('unauthorized')
    }
    const res = await metrics(`Bearer ${METRICS_TOKEN}`)
    expect(res.status).toBe(200)
    expect(await res.text()).toContain('hotspot_http_request_duration_seconds')
  })

  it('without METRICS_TOKEN, GET /metrics stays open', async () => {
    const open = await startTestApp()
    try {
      const res = await open.http.inject({ method: 'GET', url: '/metrics' })
      expect(res.statusCode).toBe(200)
    } finally {
      await open.close()
    }
  })
})
