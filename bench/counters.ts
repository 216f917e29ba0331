/**
 * `npm run bench -- counters`: view counting under load, three contenders in alternating rounds (this machine
 * is noisy, so each round runs all three back to back and the report uses medians of per-round ratios):
 *   (a) bare Fastify hello-world, (b) the naive GET-then-SET counter, (c) hotspot POST /api/items/:id/views.
 * Also checks the final counts: hotspot must have exactly one view per 2xx answer; the naive one loses some.
 */
import fs from 'node:fs'
import path from 'node:path'
import { Redis } from 'ioredis'
import {
  type LoadResult,
  load,
  machine,
  measure,
  median,
  pct,
  privateServers,
  say,
  spawnServer,
  writeResult,
} from './lib.ts'

const rounds = Number(process.env.BENCH_ROUNDS ?? 3)
const seconds = Number(process.env.BENCH_SECONDS ?? 10)
// The exactness check uses a fixed number of requests (not a duration) so every answer is accounted for.
const amount = Number(process.env.BENCH_REQUESTS ?? 50_000)
const connections = 100
const token = 'bench-admin-token-0123456789'

const servers = await privateServers({ rabbitmq: true })
const env = {
  REDIS_URL: servers.redis.url,
  AMQP_URL: servers.rabbit?.url as string,
  DATABASE_URL: path.join(servers.root, 'bench.db'),
  HOTSPOT_ADMIN_TOKEN: token,
}
say('starting contenders')
const hello = await spawnServer('bench/servers/hello.ts', env)
const naive = await spawnServer('bench/servers/naive-counter.ts', env)
const hotspot = await spawnServer('bench/servers/hotspot-api.ts', env)
const created = await fetch(`${hotspot.url}/api/items`, {
  method: 'POST',
  headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
  body: JSON.stringify({ kind: 'article', title: 'benchmarked' }),
})
const itemId = ((await created.json()) as { id: number }).id
const redis = new Redis(servers.redis.url)

const results: { a: LoadResult; b: LoadResult; c: LoadResult; lost: number }[] = []
for (let round = 1; round <= rounds; round++) {
  say(`round ${round}/${rounds}: hello-world`)
  const a = await measure({ url: `${hello.url}/`, connections, seconds })
  say(`round ${round}/${rounds}: naive GET-then-SET`)
  await redis.del(`naive:${round}`)
  const b = await measure({ url: `${naive.url}/naive/${round}/views`, method: 'POST', connections, seconds })
  const lost = b.ok - Number((await redis.get(`naive:${round}`)) ?? 0)
  say(`round ${round}/${rounds}: hotspot`)
  const c = await measure({
    url: `${hotspot.url}/api/items/${itemId}/views`,
    method: 'POST',
    body: JSON.stringify({ visitorId: 'bench-visitor' }),
    connections,
    seconds,
  })
  results.push({ a, b, c, lost })
  say(
    `  hello ${a.requestsPerSecond.toFixed(0)}  naive ${b.requestsPerSecond.toFixed(0)}  hotspot ${c.requestsPerSecond.toFixed(0)} req/s`,
  )
}
say(`exactness: ${amount} views on a fresh item at ${connections} connections`)
const fresh = await fetch(`${hotspot.url}/api/items`, {
  method: 'POST',
  headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
  body: JSON.stringify({ kind: 'article', title: 'exactness' }),
})
const exactId = ((await fresh.json()) as { id: number }).id
const exactRun = await load({
  url: `${hotspot.url}/api/items/${exactId}/views`,
  method: 'POST',
  body: '{}',
  connections,
  amount,
})
const hotspotOk = exactRun.ok
const item = (await (await fetch(`${hotspot.url}/api/items/${exactId}`)).json()) as { views: number }

const row = (name: string, r: LoadResult) =>
  `| ${name} | ${r.requestsPerSecond.toFixed(0)} | ${r.p50} | ${r.p99} | ${r.ok} | ${r.errors} |`
const lines = [
  `# Counters benchmark — ${new Date().toISOString()}`,
  '',
  `Machine: ${machine()}. wrk, ${connections} connections, ${seconds} s per contender, ${rounds} alternating rounds.`,
  'Contenders run in their own processes; Redis and RabbitMQ are private servers started by the bench.',
  '',
  '## Per round',
  '',
]
for (const [i, r] of results.entries()) {
  lines.push(
    `### Round ${i + 1}`,
    '',
    '| contender | req/s | p50 ms | p99 ms | 2xx | errors |',
    '|---|---|---|---|---|---|',
  )
  lines.push(
    row('(a) Fastify hello-world', r.a),
    row('(b) naive GET-then-SET', r.b),
    row('(c) hotspot views', r.c),
    '',
  )
  lines.push(
    `Naive counter lost ${r.lost} of ${r.b.ok} increments (${pct(r.lost / Math.max(1, r.b.ok))}).`,
    '',
  )
}
const ratio = median(results.map((r) => r.c.requestsPerSecond / r.a.requestsPerSecond))
const p99Ratio = median(results.map((r) => r.c.p99 / Math.max(1, r.a.p99)))
const naiveRatio = median(results.map((r) => r.b.requestsPerSecond / r.a.requestsPerSecond))
const exact = item.views === hotspotOk
lines.push(
  '## Summary (medians of per-round ratios)',
  '',
  `- hotspot / hello-world throughput: **${pct(ratio)}** (goal ≥ 85 %)`,
  `- hotspot p99 / hello-world p99: **${p99Ratio.toFixed(2)}×** (goal ≤ 2×)`,
  `- naive / hello-world throughput: ${pct(naiveRatio)}; lost increments: ${results.map((r) => r.lost).join(', ')}`,
  `- hotspot exact count (autocannon, ${amount} requests): ${item.views} views recorded for ${hotspotOk} 2xx answers → ${exact ? '**exact, 0 lost**' : '**MISMATCH**'}`,
  '',
)
writeResult('counters', lines.join('\n'))

redis.disconnect()
await Promise.all([hello.stop(), naive.stop(), hotspot.stop()])
await servers.stop()
fs.rmSync(servers.root, { recursive: true, force: true })
process.exit(exact ? 0 : 1)
