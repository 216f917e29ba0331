/**
 * `npm run bench -- cache`: the cached banner list under load, three contenders in alternating rounds
 * (bench/lib-rounds.ts): (a) bare Fastify hello-world, (b) GET /api/banners straight from SQL (no cache),
 * (c) hotspot's cached GET /api/banners (HIT). Then a stampede: 500 concurrent GETs right after an admin write
 * emptied the cache, counting loader runs (one SQL query each) from hotspot's /metrics.
 */
import os from 'node:os'
import { benchSetup, machine, pct, say, writeResult } from './lib.ts'
import { profiledRoute } from './lib-profile.ts'
import {
  alternatingRounds,
  budgetAndRounds,
  loadLine,
  ratioSpread,
  spread,
  throughputRatio,
} from './lib-rounds.ts'

const rounds = Number(process.env.BENCH_ROUNDS ?? 3)
const seconds = Number(process.env.BENCH_SECONDS ?? 10)
const stampede = Number(process.env.BENCH_STAMPEDE ?? 500)
const connections = 100

const loadAtStart = os.loadavg()[0] ?? 0
const bench = await benchSetup({ rabbitmq: true })
say('starting contenders')
const hello = await bench.spawn('bench/servers/hello.ts')
// hotspot first: it migrates the database and seeds the demo banners the uncached server reads.
const hotspot = await bench.spawn('bench/servers/hotspot-api.js')
const uncached = await bench.spawn('bench/servers/banners-uncached.ts')

/** Sums the samples of a metric family whose labels include `labels` (e.g. `cache="banners"`). */
async function metric(name: string, labels: string): Promise<number> {
  const text = await (await fetch(`${hotspot.url}/metrics`)).text()
  return text
    .split('\n')
    .filter((line) => line.startsWith(`${name}{`) && line.includes(labels))
    .reduce((sum, line) => sum + Number(line.split(' ').at(-1)), 0)
}
const hits = () => metric('hotspot_cache_hits_total', 'cache="banners"')
const loads = () => metric('hotspot_cache_loads_total', 'cache="banners"')

const answer = await fetch(`${hotspot.url}/api/banners`)
const body = await answer.text()
say(`hotspot answers ${body.length} bytes, X-Cache ${answer.headers.get('x-cache')}`)
const same = await (await fetch(`${uncached.url}/api/banners`)).text()
if (same !== body) throw new Error('the uncached contender does not answer the same list')

const HELLO = '(a) Fastify hello-world'
const UNCACHED = '(b) GET /api/banners, SQL per request'
const CACHED = '(c) GET /api/banners, hotspot cache'
let hitsBefore = 0
const results = await alternatingRounds({
  rounds,
  seconds,
  connections,
  servers: bench.shared,
  runs: [
    { name: HELLO, server: hello, path: '/' },
    { name: UNCACHED, server: uncached, path: '/api/banners' },
    {
      name: CACHED,
      server: hotspot,
      path: '/api/banners',
      prepare: async () => {
        hitsBefore = await hits()
        return undefined
      },
      // wrk counts requests it sent in the window; a few in flight at its end may be answered but not counted.
      check: async (_round, r) =>
        `cache hits: ${pct(Math.min(1, ((await hits()) - hitsBefore) / Math.max(1, r.ok)))}`,
    },
  ],
})

say(`stampede: ${stampede} concurrent GETs right after an admin write`)
const list = JSON.parse(body) as { id: number; title: string }[]
const first = list[0] as { id: number; title: string }
await bench.admin(hotspot, 'PUT', `/api/banners/${first.id}`, { title: `${first.title} (edited)` })
const loadsBefore = await loads()
const answers = await Promise.all(
  Array.from({ length: stampede }, async () => {
    const res = await fetch(`${hotspot.url}/api/banners`)
    return { status: res.status, cache: res.headers.get('x-cache'), body: await res.text() }
  }),
)
const stampedeLoads = (await loads()) - loadsBefore
const byCache = answers.reduce<Record<string, number>>((tally, r) => {
  const key = `${r.status} ${r.cache}`
  tally[key] = (tally[key] ?? 0) + 1
  return tally
}, {})
const fresh = answers.every((r) => r.body.includes('(edited)'))

say('profiling GET /api/banners on a second hotspot process')
const profile = await profiledRoute(bench, {
  route: 'GET /api/banners',
  seconds,
  connections,
  setup: async () => ({ path: '/api/banners' }),
})

const lines = [
  `# Cache benchmark — ${new Date().toISOString()}`,
  '',
  `Machine: ${machine()}. wrk, ${connections} connections, ${seconds} s per contender, ${rounds} alternating rounds.`,
  'Contenders run in their own processes; Redis and RabbitMQ are private servers started by the bench; SQLite.',
  `The banner list is the ${list.length} seeded demo banners (${body.length} bytes of JSON).`,
  loadLine(loadAtStart),
  '',
  '## Summary (median and spread of per-round ratios)',
  '',
  `- cached / hello-world throughput: **${ratioSpread(results, throughputRatio(CACHED, HELLO))}** (goal ≥ 90 %)`,
  `- uncached / hello-world throughput: ${ratioSpread(results, throughputRatio(UNCACHED, HELLO))}`,
  `- cached / uncached throughput: ${spread(results.map(throughputRatio(CACHED, UNCACHED)), (v) => `${v.toFixed(2)}×`)}`,
  `- stampede: ${stampede} concurrent GETs right after an admin write → **${stampedeLoads} SQL load(s)** ` +
    `(answers: ${Object.entries(byCache)
      .map(([k, v]) => `${v} × ${k}`)
      .join(', ')}; all show the write: ${fresh ? 'yes' : '**NO**'})`,
  '- the test suite asserts the same on SQLite and PostgreSQL: 500 concurrent cold GETs → exactly 1 SQL statement ' +
    'on the banners table (test/banners/api.test.ts), and 1 in all for 500 spread over two processes ' +
    '(test/banners/processes.test.ts)',
  '',
  ...budgetAndRounds(results),
  ...profile,
]
writeResult('cache', lines.join('\n'))

await bench.stop()
process.exit(stampedeLoads === 1 && fresh ? 0 : 1)
