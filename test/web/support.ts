import { execFile } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { type BrowserContext, chromium, type Page } from 'playwright-core'
import type { TestApp } from '../support/app.ts'

/** Builds dist/ and web/dist once when missing or older than the sources (a no-op when fresh), as `hotspot` does. */
export async function ensureBuilt(): Promise<void> {
  await promisify(execFile)(process.execPath, ['scripts/build.js', '--if-stale'], { timeout: 300_000 })
}

/**
 * Debian's Chromium through playwright-core, in a fresh profile. The machine has no network: background
 * services would only flood the log with refused connections, so they are off.
 */
export async function launchBrowser(): Promise<{ context: BrowserContext; close(): Promise<void> }> {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'hotspot-chromium-'))
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    viewport: { width: 1280, height: 800 },
  })
  return {
    context,
    async close() {
      await context.close()
      fs.rmSync(profile, { recursive: true, force: true })
    },
  }
}

/**
 * Console errors and uncaught exceptions of a page. Chromium itself logs "Failed to load resource: … status of
 * 429" for every non-2xx fetch: those are allowed for the statuses a test provokes on purpose, nothing else is.
 */
export function watchConsole(page: Page) {
  const problems: string[] = []
  page.on('console', (msg) => {
    if (msg.type() === 'error') problems.push(msg.text())
  })
  page.on('pageerror', (error) => problems.push(`uncaught: ${error.message}`))
  return {
    unexpected(allowedStatuses: number[] = [], allowed: RegExp[] = []): string[] {
      return problems.filter((text) => {
        const status = /status of (\d{3})/.exec(text)?.[1]
        if (status && /Failed to load resource/.test(text) && allowedStatuses.includes(Number(status)))
          return false
        return !allowed.some((pattern) => pattern.test(text))
      })
    },
  }
}

const ARTIFACTS = path.resolve('test/artifacts')
const VIEWPORTS = { desktop: { width: 1280, height: 800 }, phone: { width: 360, height: 740 } }

/** Full-page screenshots at desktop and phone width, under test/artifacts/ (git-ignored), for a human to look at. */
export async function screenshots(page: Page, name: string): Promise<void> {
  fs.mkdirSync(ARTIFACTS, { recursive: true })
  for (const [label, size] of Object.entries(VIEWPORTS)) {
    await page.setViewportSize(size)
    await page.evaluate('window.scrollTo(0, 0)') // a sticky header would otherwise be drawn mid-page
    // Two frames: the layout at the new width is done before the picture is taken.
    await page.evaluate('new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))')
    await page.screenshot({
      path: path.join(ARTIFACTS, `${name}-${label}.png`),
      fullPage: true,
      animations: 'disabled',
    })
  }
  await page.setViewportSize(VIEWPORTS.desktop)
}

export async function createItem(app: TestApp, title: string, kind: 'article' | 'video' = 'article') {
  const res = await app.http.inject({
    method: 'POST',
    url: '/api/items',
    headers: app.auth,
    payload: { kind, title },
  })
  if (res.statusCode !== 201) throw new Error(`item not created: ${res.statusCode} ${res.body}`)
  return res.json() as { id: number; title: string }
}

export async function createProduct(app: TestApp, payload: Record<string, unknown>) {
  const res = await app.http.inject({ method: 'POST', url: '/api/products', headers: app.auth, payload })
  if (res.statusCode !== 201) throw new Error(`product not created: ${res.statusCode} ${res.body}`)
  return res.json() as { id: number; name: string }
}

export async function recordViews(app: TestApp, id: number, visitors: string[]) {
  await Promise.all(
    visitors.map(async (visitorId) => {
      const res = await app.http.inject({
        method: 'POST',
        url: `/api/items/${id}/views`,
        payload: { visitorId },
      })
      if (res.statusCode !== 200) throw new Error(`view not counted: ${res.statusCode} ${res.body}`)
    }),
  )
}
