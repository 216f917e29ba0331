/**
 * `npm run bench -- seckill`: a flash-sale rush. Each round: a fresh product with stock 100, then 10 000 buy
 * attempts by distinct users at 500 connections (autocannon; `setupRequest` gives every attempt its own userId:
 * its `[<id>]` replacement sends a Content-Length that does not match the replaced body, and requests hang),
 * and in the same round a Fastify hello-world at the same connection count and request count. Reports
 * admission req/s and p99 against hello-world, the time until the last order is in SQL, and the exact count
 * (exactly 100 orders, 100 distinct users, remaining 0). A wrk run per contender adds the sustained rate,
 * which autocannon (itself near its ceiling on 2 cores) can hide.
 */
import os from 'node:os'
import autocannon from 'autocannon'
import SQLite from 'better-sqlite3'
import { benchSetup, machine, median, pct, say, writeResult } from './lib.ts'
import { profiledRoute } from './lib-profile.ts'
import {
  alternatingRounds,
  cpuBudgetTable,
  loadLine,
  ratioSpread,
  roundsTable,
  throughputRatio,
} from './lib-rounds.ts'

const rounds = Number(process.env.BENCH_ROUNDS ?? 3)
const attempts = Number(process.env.BENCH_REQUESTS ?? 10_000)
const seconds = Number(process.env.BENCH_SECONDS ?? 5)
const connections = 500
const stock = 100

// The machine is shared: its load says how much the absolute figures can be trusted (ratios fare better).
const loadAtStart = os.loadavg()[0] ?? 0
const bench = await benchSetup({ rabbitmq: true })
const dbFile = bench.env.DATABASE_URL as string
const env = {
  // Every attempt comes from the load generator's one address: the per-address limit is off (a real rush
  // comes from many addresses); the per-user limit runs at its default, one limiter call per attempt.
  SECKILL_IP_LIMIT: '0',
}
say('starting contenders')
const hello = await bench.spawn('bench/servers/hello.ts', env)
const hotspotEnv = {
  ...env,
  BENCH_ROLES: 'api,worker', // as `hotspot start` runs them: the orders are created in the same process
  // `error`: wrk ends a run by closing connections with requests in flight, and each of those aborted bodies
  // would log a warning.
  LOG_LEVEL: 'error',
}
const hotspot = await bench.spawn('bench/servers/hotspot-api.js', hotspotEnv)
// A user of its own per attempt: the per-user limit never refuses, the stock does.
const attemptBody = `'{"userId":"wrk-' .. n .. '"}'`
const sqlite = new SQLite(dbFile, { readonly: true })
const countOrders = sqlite.prepare(
  'SELECT count(*) AS n, count(DISTINCT user_id) AS users FROM orders WHERE product_id = ?',
)

const newProduct = async (name: string) =>
  (await bench.admin<{ id: number }>(hotspot, 'POST', '/api/products', { name, stock })).id

interface Run {
  rps: number
  p50: number
  p99: number
  statuses: Record<string, number>
  errors: number
}

let attempt = 0

/** `attempts` requests at `connections`; with `buy`, each one a POST by a user of its own. */
async function cannon(options: { url: string; buy?: boolean }): Promise<Run> {
  const result = await autocannon({
    url: options.url,
    connections,
    amount: attempts,
    timeout: 30,
    requests: [
      options.buy
        ? {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            setupRequest: (request) => ({
              ...request,
              body: JSON.stringify({ userId: `user-${++attempt}` }),
            }),
          }
        : { method: 'GET' },
    ],
  })
  const statuses: Record<string, number> = {}
  for (const [code, stat] of Object.entries(result.statusCodeStats ?? {})) statuses[code] = Number(stat.count)
  return {
    rps: result.requests.total / result.duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
    statuses,
    errors: result.errors + result.timeouts,
  }
}

interface Round {
  hello: Run
  seckill: Run
  lastOrderMs: number
  orders: number
  users: number
  remaining: number
}

const results: Round[] = []
for (let round = 1; round <= rounds; round++) {
  say(`round ${round}/${rounds}: hello-world, ${attempts} requests at ${connections} connections`)
  const helloRun = await cannon({ url: `${hello.url}/` })
  const id = await newProduct(`rush ${round}`)
  say(`round ${round}/${rounds}: seckill, ${attempts} attempts on stock ${stock}`)
  const started = performance.now()
  let lastOrderMs = Number.NaN
  let watching = true
  const watcher = (async () => {
    while (watching) {
      const { n } = countOrders.get(id) as { n: number }
      if (n >= stock) {
        lastOrderMs = performance.now() - started
        return
      }
      await new Promise((r) => setTimeout(r, 5))
    }
  })()
  const seckillRun = await cannon({ url: `${hotspot.url}/api/seckill/${id}`, buy: true })
  // Give the worker up to 30 s after the rush to write the orders.
  const deadline = Date.now() + 30_000
  while (Number.isNaN(lastOrderMs) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
  watching = false
  await watcher
  const { n, users } = countOrders.get(id) as { n: number; users: number }
  const product = (await (await fetch(`${hotspot.url}/api/products/${id}`)).json()) as { remaining: number }
  results.push({
    hello: helloRun,
    seckill: seckillRun,
    lastOrderMs,
    orders: n,
    users,
    remaining: product.remaining,
  })
  say(
    `  hello ${helloRun.rps.toFixed(0)} req/s p99 ${helloRun.p99} ms | seckill ${seckillRun.rps.toFixed(0)} req/s p99 ${seckillRun.p99} ms, ${n} orders, last after ${lastOrderMs.toFixed(0)} ms`,
  )
}

say(`sustained rate: wrk, ${seconds} s per contender, ${rounds} alternating rounds`)
const HELLO = '(a) Fastify hello-world'
const SECKILL = '(b) hotspot POST /api/seckill/:id, mostly sold out'
const sustained = await alternatingRounds({
  rounds,
  seconds,
  connections,
  servers: bench.shared,
  runs: [
    { name: HELLO, server: hello, path: '/' },
    {
      name: SECKILL,
      server: hotspot,
      path: '/',
      method: 'POST',
      bodyLua: attemptBody,
      prepare: async (round) => `/api/seckill/${await newProduct(`wrk ${round}`)}`,
    },
  ],
})

say('profiling POST /api/seckill/:id on a second hotspot process')
const profile = await profiledRoute(bench, {
  route: 'POST /api/seckill/:id',
  env: hotspotEnv,
  seconds,
  connections,
  setup: async (server) => {
    const product = await bench.admin<{ id: number }>(server, 'POST', '/api/products', {
      name: 'profiled',
      stock,
    })
    return { path: `/api/seckill/${product.id}`, method: 'POST', bodyLua: attemptBody }
  },
})

const exact = results.every(
  (r) => r.orders === stock && r.users === stock && r.remaining === 0 && r.seckill.statuses['202'] === stock,
)
const ratio = median(results.map((r) => r.seckill.rps / r.hello.rps))
const p99 = median(results.map((r) => r.seckill.p99))
const helloP99 = median(results.map((r) => r.hello.p99))
const statusText = (s: Record<string, number>) =>
  Object.entries(s)
    .map(([code, count]) => `${count}×${code}`)
    .join(' ')
const lines = [
  `# Flash-sale (seckill) benchmark — ${new Date().toISOString()}`,
  '',
  `Machine: ${machine()}. ${rounds} rounds; each: ${attempts} requests at ${connections} connections (autocannon, a`,
  `fixed amount) against Fastify hello-world, then ${attempts} buy attempts by distinct users on a fresh product with`,
  `stock ${stock} against hotspot (API + worker in one process, SQLite, private Redis and RabbitMQ); then wrk for`,
  `${seconds} s at ${connections} connections on each (sustained rate; wrk drives harder than autocannon on 2 cores).`,
  'The per-address limit is off (every attempt comes from the one load generator); the per-user limit is on.',
  loadLine(loadAtStart),
  '',
  '| round | hello req/s | hello p99 ms | seckill req/s | seckill p99 ms | seckill answers | last order in SQL after | orders / users / remaining |',
  '|---|---|---|---|---|---|---|---|',
  ...results.map(
    (r, i) =>
      `| ${i + 1} | ${r.hello.rps.toFixed(0)} | ${r.hello.p99} | ${r.seckill.rps.toFixed(0)} | ${r.seckill.p99} | ${statusText(r.seckill.statuses)}${r.seckill.errors ? `, ${r.seckill.errors} errors` : ''} | ${r.lastOrderMs.toFixed(0)} ms | ${r.orders} / ${r.users} / ${r.remaining} |`,
  ),
  '',
  '## Summary (medians over the rounds)',
  '',
  `- admission req/s / hello-world req/s (autocannon, same amount): **${pct(ratio)}** (goal ≥ 70 %)`,
  `- admission p99: **${p99} ms** (goal ≤ 20 ms); hello-world p99 at the same load: ${helloP99} ms`,
  `- sustained (wrk): admission / hello-world **${ratioSpread(sustained, throughputRatio(SECKILL, HELLO))}** (median and spread over rounds)`,
  `- time from the first attempt until the 100th order is in SQL: ${results.map((r) => `${r.lastOrderMs.toFixed(0)} ms`).join(', ')}`,
  `- exact count: ${exact ? `**exactly ${stock} orders by ${stock} distinct users, ${stock} × 202, remaining 0, in every round**` : '**MISMATCH**'}`,
  '',
]
lines.push(
  '## Sustained rate and CPU budget per request (wrk, median and spread over rounds)',
  '',
  ...cpuBudgetTable(sustained),
  '',
  ...roundsTable(sustained),
  '',
  ...profile,
)
writeResult('seckill', lines.join('\n'))

sqlite.close()
await bench.stop()
process.exit(exact ? 0 : 1)
