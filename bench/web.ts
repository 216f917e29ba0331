/**
 * `npm run bench -- web`: the web UI's weight and speed.
 *   1. What the first page (home) downloads: index.html, the entry script with its preloaded chunks, the CSS,
 *      raw / gzip / brotli. Goal: <= 100 kB gzip.
 *   2. In Chromium (Debian's /usr/bin/chromium via playwright-core), the time from navigation to the first
 *      rendered item list (the app sets a performance mark when the list is in the DOM), median of 10 cold
 *      loads (a fresh browser context each: empty cache, no cookie) and 10 warm reloads. Goal: <= 500 ms.
 * hotspot runs as `hotspot api` would (createApp in its own process) on private Redis and RabbitMQ.
 */
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import zlib from 'node:zlib'
import { chromium } from 'playwright-core'
import { DIST_DIR } from '../src/web/index.ts'
import { machine, median, privateServers, say, spawnServer, writeResult } from './lib.ts'

const loads = Number(process.env.BENCH_LOADS ?? 10)
const token = 'bench-admin-token-0123456789'
const GOAL_KB = 100
const GOAL_MS = 500

say('building the web UI (if stale)')
execFileSync(process.execPath, ['scripts/build.js', '--if-stale'], { stdio: 'inherit' })

// 1. Size of the first page.
const html = fs.readFileSync(path.join(DIST_DIR, 'index.html'), 'utf8')
const firstPage = [
  'index.html',
  ...[...html.matchAll(/(?:src|href)="\/(assets\/[^"]+\.(?:js|css))"/g)].map((m) => m[1] as string),
]
const sizes = firstPage.map((file) => {
  const content = fs.readFileSync(path.join(DIST_DIR, file))
  return {
    file,
    raw: content.length,
    gzip: zlib.gzipSync(content, { level: 9 }).length,
    brotli: zlib.brotliCompressSync(content).length,
  }
})
const total = sizes.reduce(
  (t, s) => ({ raw: t.raw + s.raw, gzip: t.gzip + s.gzip, brotli: t.brotli + s.brotli }),
  {
    raw: 0,
    gzip: 0,
    brotli: 0,
  },
)
const allAssets = fs
  .readdirSync(path.join(DIST_DIR, 'assets'))
  .filter((f) => /\.(js|css)$/.test(f))
  .reduce(
    (sum, f) => sum + zlib.gzipSync(fs.readFileSync(path.join(DIST_DIR, 'assets', f)), { level: 9 }).length,
    0,
  )
const kb = (bytes: number) => (bytes / 1024).toFixed(1)

// 2. Time to the first item list, in Chromium.
const servers = await privateServers({ rabbitmq: true })
const env = {
  REDIS_URL: servers.redis.url,
  AMQP_URL: servers.rabbit?.url as string,
  DATABASE_URL: path.join(servers.root, 'bench.db'),
  HOTSPOT_ADMIN_TOKEN: token,
}
say('starting hotspot')
const hotspot = await spawnServer('bench/servers/hotspot-api.js', env)
for (let i = 1; i <= 10; i++) {
  const res = await fetch(`${hotspot.url}/api/items`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ kind: i % 3 ? 'article' : 'video', title: `Benchmark item ${i}` }),
  })
  const { id } = (await res.json()) as { id: number }
  for (let v = 0; v < i; v++) await fetch(`${hotspot.url}/api/items/${id}/views`, { method: 'POST' })
}

// launch() runs Chromium in a fresh temporary profile of its own.
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  headless: true,
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ],
})

/** ms from navigation start to the app's "first item list rendered" mark, and to DOMContentLoaded. */
async function measureLoad(page: import('playwright-core').Page, reload: boolean) {
  if (reload) await page.reload({ waitUntil: 'commit' })
  else await page.goto(`${hotspot.url}/`, { waitUntil: 'commit' })
  // Evaluated in the page (strings: this file is type-checked without the DOM library). Polled with evaluate,
  // not waitForFunction: that one evals its predicate inside the page, which the UI's CSP (no 'unsafe-eval')
  // refuses. The figure is the mark's own startTime, so the polling interval does not enter it.
  const deadline = Date.now() + 10_000
  while (!(await page.evaluate("performance.getEntriesByName('hotspot:first-item-list').length > 0"))) {
    if (Date.now() > deadline) throw new Error('the first item list did not render within 10 s')
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  return (await page.evaluate(`({
    list: performance.getEntriesByName('hotspot:first-item-list')[0].startTime,
    dcl: performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd,
  })`)) as { list: number; dcl: number }
}

say(`measuring ${loads} cold loads and ${loads} warm reloads`)
const loadBefore = os.loadavg()[0] as number
// One throwaway load: the server's first answers (file reads, JIT) are not what a visitor sees.
{
  const context = await browser.newContext()
  await measureLoad(await context.newPage(), false)
  await context.close()
}
const cold: { list: number; dcl: number }[] = []
for (let i = 0; i < loads; i++) {
  const context = await browser.newContext() // empty cache, no cookies: a first visit
  cold.push(await measureLoad(await context.newPage(), false))
  await context.close()
}
const warm: { list: number; dcl: number }[] = []
{
  const context = await browser.newContext()
  const page = await context.newPage()
  await measureLoad(page, false)
  for (let i = 0; i < loads; i++) warm.push(await measureLoad(page, true))
  await context.close()
}
const loadAfter = os.loadavg()[0] as number
const version = browser.version()
await browser.close()
await hotspot.stop()
await servers.stop()

const ms = (values: number[]) =>
  `${median(values).toFixed(0)} ms (min ${Math.min(...values).toFixed(0)}, max ${Math.max(...values).toFixed(0)})`
const coldList = median(cold.map((c) => c.list))
const markdown = `# Web UI benchmark — ${new Date().toISOString()}

Machine: ${machine()}; load average ${loadBefore.toFixed(1)} before the loads, ${loadAfter.toFixed(1)} after
(other work on the machine slows the cold loads most: they download and compile the code). Chromium ${version} headless (Debian's), playwright-core. hotspot API process
(createApp, as \`hotspot api\`) serving the built UI with pre-compressed files, private Redis and RabbitMQ, 10 items.

## First page weight (home: what index.html loads before anything is shown)

| file | raw | gzip | brotli |
|---|---|---|---|
${sizes.map((s) => `| ${s.file} | ${kb(s.raw)} kB | ${kb(s.gzip)} kB | ${kb(s.brotli)} kB |`).join('\n')}
| **total** | **${kb(total.raw)} kB** | **${kb(total.gzip)} kB** | **${kb(total.brotli)} kB** |

Goal ≤ ${GOAL_KB} kB gzip: **${total.gzip / 1024 <= GOAL_KB ? 'met' : 'missed'}** (${kb(total.gzip)} kB). The other pages are
lazy chunks; every JS and CSS file of the app together: ${kb(allAssets)} kB gzip.

## Navigation → first item list rendered (median of ${loads})

| load | first item list | DOMContentLoaded |
|---|---|---|
| cold (new context: empty cache, no cookie) | ${ms(cold.map((c) => c.list))} | ${ms(cold.map((c) => c.dcl))} |
| warm (reload, cached assets) | ${ms(warm.map((c) => c.list))} | ${ms(warm.map((c) => c.dcl))} |

Goal ≤ ${GOAL_MS} ms: **${coldList <= GOAL_MS ? 'met' : 'missed'}** (cold median ${coldList.toFixed(0)} ms). The mark is set by the
app (\`performance.mark('hotspot:first-item-list')\`) once \`GET /api/items\` answered and the list is in the DOM.
`
writeResult('web', markdown)
