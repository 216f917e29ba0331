/**
 * `npm run bench -- counters`: view counting under load, three contenders in alternating rounds
 * (bench/lib-rounds.ts): (a) bare Fastify hello-world, (b) the naive GET-then-SET counter, (c) hotspot
 * POST /api/items/:id/views, and (d) the read side, GET /api/rankings/views over 200 viewed items (how much of a
 * ranking read is Redis: what a read replica could take off the master, #18). Reports req/s and CPU per request
 * (node, redis, broker) with their spread, and checks the final counts: hotspot must have exactly one view per 2xx
 * answer; the naive one loses some.
 */
import os from 'node:os'
import { Redis } from 'ioredis'
import { benchSetup, load, machine, say, writeResult } from './lib.ts'
import { profiledRoute } from './lib-profile.ts'
import { alternatingRounds, budgetAndRounds, loadLine, ratioSpread, throughputRatio } from './lib-rounds.ts'

const rounds = Number(process.env.BENCH_ROUNDS ?? 3)
const seconds = Number(process.env.BENCH_SECONDS ?? 10)
// The exactness check uses a fixed number of requests (not a duration) so every answer is accounted for.
const amount = Number(process.env.BENCH_REQUESTS ?? 50_000)
const connections = 100

const loadAtStart = os.loadavg()[0] ?? 0
const bench = await benchSetup({ rabbitmq: true })
say('starting contenders')
const hello = await bench.spawn('bench/servers/hello.ts')
const naive = await bench.spawn('bench/servers/naive-counter.ts')
const hotspot = await bench.spawn('bench/servers/hotspot-api.js')
const item = await bench.admin<{ id: number }>(hotspot, 'POST', '/api/items', {
  kind: 'article',
  title: 'benchmarked',
})
const redis = new Redis(bench.servers.redis.url)
say('seeding 200 viewed items for the rankings read')
for (let i = 0; i < 200; i++) {
  const ranked = await bench.admin<{ id: number }>(hotspot, 'POST', '/api/items', {
    kind: 'article',
    title: `r${i}`,
  })
  await Promise.all(
    Array.from({ length: 1 + (i % 7) }, () =>
      fetch(`${hotspot.url}/api/items/${ranked.id}/views`, {
        method: 'POST',
        body: '{}',
        headers: { 'content-type': 'application/json' },
      }),
    ),
  )
}

const viewBody = JSON.stringify({ visitorId: 'bench-visitor' })
const HELLO = '(a) Fastify hello-world'
const NAIVE = '(b) naive GET-then-SET'
const HOTSPOT = '(c) hotspot POST /api/items/:id/views'
const RANKINGS = '(d) hotspot GET /api/rankings/views?period=all&limit=10'
const results = await alternatingRounds({
  rounds,
  seconds,
  connections,
  servers: bench.shared,
  runs: [
    { name: HELLO, server: hello, path: '/' },
    {
      name: NAIVE,
      server: naive,
      path: '/',
      method: 'POST',
      prepare: async (round) => {
        await redis.del(`naive:${round}`)
        return `/naive/${round}/views`
      },
      check: async (round, r) => {
        const lost = r.ok - Number((await redis.get(`naive:${round}`)) ?? 0)
        return `lost ${lost} of ${r.ok} increments`
      },
    },
    {
      name: HOTSPOT,
      server: hotspot,
      path: `/api/items/${item.id}/views`,
      method: 'POST',
      body: viewBody,
    },
    { name: RANKINGS, server: hotspot, path: '/api/rankings/views?period=all&limit=10' },
  ],
})

say(`exactness: ${amount} views on a fresh item at ${connections} connections`)
const fresh = await bench.admin<{ id: number }>(hotspot, 'POST', '/api/items', {
  kind: 'article',
  title: 'exactness',
})
const exactRun = await load({
  url: `${hotspot.url}/api/items/${fresh.id}/views`,
  method: 'POST',
  body: '{}',
  connections,
  amount,
})
const counted = (await (await fetch(`${hotspot.url}/api/items/${fresh.id}`)).json()) as { views: number }
const exact = counted.views === exactRun.ok

say('profiling POST /api/items/:id/views on a second hotspot process')
const profile = await profiledRoute(bench, {
  route: 'POST /api/items/:id/views',
  seconds,
  connections,
  setup: async (server) => {
    const profiled = await bench.admin<{ id: number }>(server, 'POST', '/api/items', {
      kind: 'article',
      title: 'profiled',
    })
    return {
      path: `/api/items/${profiled.id}/views`,
      method: 'POST',
      body: viewBody,
    }
  },
})

const lines = [
  `# Counters benchmark — ${new Date().toISOString()}`,
  '',
  `Machine: ${machine()}. wrk, ${connections} connections, ${seconds} s per contender, ${rounds} alternating rounds.`,
  'Contenders run in their own processes; Redis and RabbitMQ are private servers started by the bench.',
  loadLine(loadAtStart),
  '',
  '## Summary (median and spread of per-round ratios)',
  '',
  `- hotspot / hello-world throughput: **${ratioSpread(results, throughputRatio(HOTSPOT, HELLO))}** (goal ≥ 90 %)`,
  `- naive / hello-world throughput: ${ratioSpread(results, throughputRatio(NAIVE, HELLO))}`,
  `- rankings read (16 ZREVRANGE, one per bucket, and the titles) / hello-world throughput: ${ratioSpread(results, throughputRatio(RANKINGS, HELLO))}; its Redis share of CPU is in the table below`,
  `- hotspot exact count (autocannon, ${amount} requests): ${counted.views} views recorded for ${exactRun.ok} 2xx answers → ${exact ? '**exact, 0 lost**' : '**MISMATCH**'}`,
  '',
  ...budgetAndRounds(results),
  ...profile,
]
writeResult('counters', lines.join('\n'))

redis.disconnect()
await bench.stop()
process.exit(exact ? 0 : 1)
