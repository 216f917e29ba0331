/**
 * `npm run bench -- limiter`:
 *  1. Decisions per second and latency of hotspot's sliding-window limiter vs rate-limiter-flexible's
 *     RateLimiterRedis (a fixed window), both in this process on the same private Redis, 100 concurrent
 *     callers, many phones (5 per 60 s each). Two mixes: a million phones (almost every decision admits) and a
 *     thousand hot phones (almost every decision refuses). Alternating rounds, medians.
 *     A third mix: ten hot phones hammered, with the in-process block of refused keys on both sides
 *     (hotspot's `blockRefused`, rate-limiter-flexible's `inMemoryBlockOnConsumed`): refusals from memory.
 *  2. What "exact" buys: the same burst pattern through both (limit 5 per 2 s).
 *  3. POST /api/sms (validate, limit, SQL insert, confirmed publish) vs Fastify hello-world, wrk, random phones.
 */
import os from 'node:os'
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible'
import { createRedis } from '../src/infra/redis.ts'
import { createLimiter } from '../src/ratelimit/index.ts'
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
const seconds = Number(process.env.BENCH_SECONDS ?? 10)
const limiterSeconds = Number(process.env.BENCH_LIMITER_SECONDS ?? 5)
const concurrency = 100
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

const loadAtStart = os.loadavg()[0] ?? 0
const bench = await benchSetup({ rabbitmq: true })
const servers = bench.servers
const redis = createRedis(servers.redis.url)
const redisForFlexible = createRedis(servers.redis.url) // same client options (auto-pipelining), own connection

type Decide = (phone: string) => Promise<boolean>

function contenders(
  tag: string,
  limit: number,
  windowMs: number,
  blockRefused = false,
): Record<'hotspot' | 'flexible', Decide> {
  const hotspot = createLimiter(redis, `bench:${tag}:hs`, { blockRefused })
  const flexible = new RateLimiterRedis({
    storeClient: redisForFlexible,
    keyPrefix: `bench:${tag}:rlf`,
    points: limit,
    duration: windowMs / 1000,
    ...(blockRefused ? { inMemoryBlockOnConsumed: limit } : {}),
  })
  return {
    hotspot: async (phone) => (await hotspot.take(`sms:${phone}`, { limit, windowMs })).allowed,
    flexible: (phone) =>
      flexible.consume(phone, 1).then(
        () => true,
        (refusal: unknown) => {
          if (refusal instanceof RateLimiterRes) return false
          throw refusal
        },
      ),
  }
}

interface DriveResult {
  perSecond: number
  p50: number
  p99: number
  admitted: number
  /** CPU time per decision (µs), of this process and of redis-server: steadier than rates on a busy machine. */
  nodeCpu: number
  redisCpu: number
}

const stats = createRedis(servers.redis.url)
async function redisCpuSeconds(): Promise<number> {
  const info = (await stats.info('cpu')) as string
  const field = (name: string) => Number(new RegExp(`${name}:([\\d.]+)`).exec(info)?.[1] ?? 0)
  return field('used_cpu_user') + field('used_cpu_sys')
}

/** 100 callers, each deciding for random phones back to back for `limiterSeconds`. */
async function drive(decide: Decide, phones: number): Promise<DriveResult> {
  const latencies: number[] = []
  let admitted = 0
  const redisCpu0 = await redisCpuSeconds()
  const nodeCpu0 = process.cpuUsage()
  const started = performance.now()
  const deadline = started + limiterSeconds * 1000
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) {
        const phone = `+86139${String(Math.floor(Math.random() * phones)).padStart(8, '0')}`
        const t = performance.now()
        if (await decide(phone)) admitted++
        latencies.push(performance.now() - t)
      }
    }),
  )
  const elapsed = (performance.now() - started) / 1000
  const nodeCpu = process.cpuUsage(nodeCpu0)
  const redisCpu = (await redisCpuSeconds()) - redisCpu0
  latencies.sort((a, b) => a - b)
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0
  return {
    perSecond: latencies.length / elapsed,
    p50: at(0.5),
    p99: at(0.99),
    admitted: admitted / latencies.length,
    nodeCpu: (nodeCpu.user + nodeCpu.system) / latencies.length,
    redisCpu: (redisCpu * 1e6) / latencies.length,
  }
}

const mixes = [
  { name: 'a million phones (mostly admitted)', phones: 1_000_000, block: false },
  { name: 'a thousand hot phones (mostly refused)', phones: 1_000, block: false },
  { name: 'ten hot phones, in-process block on both', phones: 10, block: true },
]
const limiterRuns: { mix: string; round: number; hotspot: DriveResult; flexible: DriveResult }[] = []
say('warming up (JIT, scripts loaded, connections open)')
for (const [name, decide] of Object.entries(contenders('warm-up', 5, 60_000))) {
  await drive(decide, 1_000_000)
  say(`  ${name} warm`)
}
for (let round = 1; round <= rounds; round++) {
  for (const mix of mixes) {
    const c = contenders(`r${round}:${mix.phones}`, 5, 60_000, mix.block)
    // Alternate which goes first, so neither always gets the warmer machine.
    const order = round % 2 ? (['hotspot', 'flexible'] as const) : (['flexible', 'hotspot'] as const)
    const results = {} as Record<'hotspot' | 'flexible', DriveResult>
    for (const name of order) {
      say(`round ${round}/${rounds}, ${mix.name}: ${name}`)
      results[name] = await drive(c[name], mix.phones)
    }
    limiterRuns.push({ mix: mix.name, round, ...results })
    say(
      `  hotspot ${results.hotspot.perSecond.toFixed(0)}/s  rate-limiter-flexible ${results.flexible.perSecond.toFixed(0)}/s`,
    )
  }
}

/** Limit 5 per 2 s: 1 request at 0 ms, 4 at 1 900 ms, 5 at 2 100 ms. A sliding window admits 5 in any 2 s. */
async function burst(decide: Decide): Promise<{ total: number; late: number }> {
  const phone = '+8613900000000'
  const send = (n: number) => Promise.all(Array.from({ length: n }, () => decide(phone)))
  const t0 = performance.now()
  const first = await send(1)
  await sleep(1_900 - (performance.now() - t0))
  const second = await send(4)
  await sleep(2_100 - (performance.now() - t0))
  const third = await send(5)
  const count = (xs: boolean[]) => xs.filter(Boolean).length
  return { total: count(first) + count(second) + count(third), late: count(second) + count(third) }
}
say('exactness: burst across a window boundary')
const exactness = await Promise.all(
  (['hotspot', 'flexible'] as const).map(async (name) => [
    name,
    await burst(contenders('burst', 5, 2_000)[name]),
  ]),
)

// --- HTTP: POST /api/sms vs hello-world -------------------------------------------------------------------

say('starting contenders')
const hello = await bench.spawn('bench/servers/hello.ts')
// wrk sends from one address: the per-address and global SMS budgets would refuse almost all of it.
const hotspotEnv = { SMS_ADDRESS_LIMIT: '0', SMS_GLOBAL_LIMIT: '0' }
const hotspot = await bench.spawn('bench/servers/hotspot-api.js', hotspotEnv)
const HELLO = '(a) Fastify hello-world'
const SMS = '(b) hotspot POST /api/sms'
// A random China mobile number in every body, so the per-phone limit rarely refuses; hello-world parses the same.
const smsBody = `string.format('{"phone":"139%08d","content":"Your code is 123456"}', math.random(0, 99999999))`
const httpRuns = await alternatingRounds({
  rounds,
  seconds,
  connections: concurrency,
  servers: bench.shared,
  runs: [
    { name: HELLO, server: hello, path: '/', method: 'POST', bodyLua: smsBody },
    {
      name: SMS,
      server: hotspot,
      path: '/api/sms',
      method: 'POST',
      bodyLua: smsBody,
    },
  ],
})

say('profiling POST /api/sms on a second hotspot process')
const profile = await profiledRoute(bench, {
  route: 'POST /api/sms',
  env: hotspotEnv,
  seconds,
  connections: concurrency,
  setup: async () => ({ path: '/api/sms', method: 'POST', bodyLua: smsBody }),
})

// --- report -----------------------------------------------------------------------------------------------

const f0 = (n: number) => n.toFixed(0)
const f2 = (n: number) => n.toFixed(2)
const cpu = (r: DriveResult) => `${r.nodeCpu.toFixed(1)} / ${r.redisCpu.toFixed(1)}`
const lines = [
  `# Limiter benchmark — ${new Date().toISOString()}`,
  '',
  `Machine: ${machine()}.`,
  loadLine(loadAtStart),
  'Private Redis and RabbitMQ started by the bench.',
  '',
  '## 1. Decisions per second, in process, same Redis',
  '',
  `${concurrency} concurrent callers, ${limiterSeconds} s per contender, ${rounds} alternating rounds; limit 5 per 60 s per phone;`,
  'both on an ioredis client with auto-pipelining. hotspot: exact sliding window (one Lua call: TIME, LINDEX per',
  'rule, and when admitted LPUSH, PEXPIRE); rate-limiter-flexible: `RateLimiterRedis.consume` (fixed window, one Lua',
  'call: SET NX, INCRBY, PTTL). CPU columns: µs of CPU per decision in this process (node) and in redis-server.',
  'The block mix turns on the in-process block of refused keys on both (hotspot `blockRefused`, held until the',
  'unit that refused leaves the sliding window; rate-limiter-flexible `inMemoryBlockOnConsumed: 5`, until its fixed',
  'window ends): both then refuse from memory, and the goal is hotspot ≥ 1.3× decisions/s.',
  '',
  '| mix | round | hotspot decisions/s | p50 ms | p99 ms | CPU node/redis µs | admitted | r-l-f decisions/s | p50 ms | p99 ms | CPU node/redis µs | admitted |',
  '|---|---|---|---|---|---|---|---|---|---|---|---|',
]
for (const r of limiterRuns) {
  lines.push(
    `| ${r.mix} | ${r.round} | ${f0(r.hotspot.perSecond)} | ${f2(r.hotspot.p50)} | ${f2(r.hotspot.p99)} | ${cpu(r.hotspot)} | ${pct(r.hotspot.admitted)} | ${f0(r.flexible.perSecond)} | ${f2(r.flexible.p50)} | ${f2(r.flexible.p99)} | ${cpu(r.flexible)} | ${pct(r.flexible.admitted)} |`,
  )
}
lines.push('', 'Medians of per-round ratios (hotspot / rate-limiter-flexible):', '')
for (const mix of mixes) {
  const runs = limiterRuns.filter((r) => r.mix === mix.name)
  const speed = median(runs.map((r) => r.hotspot.perSecond / r.flexible.perSecond))
  const p99 = median(runs.map((r) => r.hotspot.p99 / r.flexible.p99))
  const total = (r: DriveResult) => r.nodeCpu + r.redisCpu
  const cpuRatio = median(runs.map((r) => total(r.hotspot) / total(r.flexible)))
  lines.push(
    `- ${mix.name}: throughput **${pct(speed)}**, p99 **${f2(p99)}×**, CPU per decision (node + redis) **${pct(cpuRatio)}**`,
  )
}
lines.push(
  '',
  '## 2. Exactness: 1 request at 0 ms, 4 at 1 900 ms, 5 at 2 100 ms (limit 5 per 2 s, one phone)',
  '',
  '| limiter | admitted in total | admitted within the last 200 ms |',
  '|---|---|---|',
)
for (const [name, r] of exactness as [string, { total: number; late: number }][]) {
  lines.push(
    `| ${name === 'hotspot' ? 'hotspot (sliding window)' : 'rate-limiter-flexible (fixed window)'} | ${r.total} | ${r.late} |`,
  )
}
lines.push(
  '',
  'A fixed window starts afresh at its boundary, so 9 messages reach the phone within 200 ms although the limit is',
  '5 per 2 s; the sliding window never admits more than 5 in any 2 s.',
  '',
  '## 3. POST /api/sms vs Fastify hello-world',
  '',
  `wrk, ${concurrency} connections, ${seconds} s per contender, ${rounds} alternating rounds, a random phone in every body.`,
  "POST /api/sms validates, segments, takes from the phone's window (Lua), inserts the SQL row (SQLite) and",
  'publishes the delivery task with a publisher confirm, then answers 202 (no worker runs during the bench).',
  '',
  ...cpuBudgetTable(httpRuns),
  '',
  ...roundsTable(httpRuns),
  '',
  `POST /api/sms / hello-world throughput (median and spread of per-round ratios): **${ratioSpread(httpRuns, throughputRatio(SMS, HELLO))}**`,
  '',
  ...profile,
)
writeResult('limiter', lines.join('\n'))

redis.disconnect()
redisForFlexible.disconnect()
stats.disconnect()
await bench.stop()
process.exit(0)
