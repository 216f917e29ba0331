/**
 * `npm run bench -- profile`: where each hot route's CPU goes. The compiled runtime (`bin/hotspot.js api` on
 * dist/) runs under `node --cpu-prof`; wrk drives, in alternating rounds, Fastify hello-world and the four hot
 * routes — POST /api/items/:id/views, GET /api/banners, POST /api/seckill/:id (mostly sold out), POST /api/sms.
 * Each run has its CPU per request (node, redis-server, RabbitMQ from /proc), the Redis commands it caused (INFO
 * commandstats: the Lua scripts' own time) and its window of the CPU profile, grouped as issue 16 asks.
 *
 * BENCH_BASELINE=<git ref> (e.g. `main`) also runs that ref's build as a second contender per route, in the same
 * rounds: CPU per request before/after on the same machine at the same time. The profiler costs both alike (a
 * sample per ms), so compare these figures with each other, not with the other benches'.
 */
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { Redis } from 'ioredis'
import { benchSetup, type Contender, machine, measure, pct, say, writeResult } from './lib.ts'
import { nowUs, readProfile, summarise } from './lib-profile.ts'
import { alternatingRounds, budgetAndRounds, type HttpRun, loadLine, spread } from './lib-rounds.ts'

const rounds = Number(process.env.BENCH_ROUNDS ?? 3)
const seconds = Number(process.env.BENCH_SECONDS ?? 8)
const baselineRef = process.env.BENCH_BASELINE
const connections = 100
const ROOT = path.resolve(import.meta.dirname, '..')

const loadAtStart = os.loadavg()[0] ?? 0
const bench = await benchSetup({ rabbitmq: true })
const redis = new Redis(bench.servers.redis.url)

/** A checkout of `ref` next to the bench's temp files, sharing this one's node_modules, compiled. */
function checkout(ref: string): string {
  const dir = path.join(bench.servers.root, 'baseline')
  fs.mkdirSync(dir)
  execFileSync('sh', ['-c', `git archive ${JSON.stringify(ref)} | tar -x -C ${JSON.stringify(dir)}`], {
    cwd: ROOT,
  })
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'))
  execFileSync(process.execPath, ['scripts/build.js', '--if-stale'], { cwd: dir, stdio: 'inherit' })
  return dir
}

interface Build {
  label: string
  dir: string
  profileDir: string
  server?: Contender
}

execFileSync(process.execPath, ['scripts/build.js', '--if-stale'], { cwd: ROOT, stdio: 'inherit' })
const builds: Build[] = [
  ...(baselineRef ? [{ label: `before (${baselineRef})`, dir: checkout(baselineRef) }] : []),
  { label: baselineRef ? 'after (this branch)' : 'hotspot', dir: ROOT },
].map((b, i) => ({ ...b, profileDir: path.join(bench.servers.root, `profile-${i}`) }))

say('starting contenders')
const hello = await bench.spawn('bench/servers/hello.ts')
for (const [i, build] of builds.entries()) {
  build.server = await bench.spawn(
    'bin/hotspot.js',
    {
      DATABASE_URL: path.join(bench.servers.root, `build-${i}.db`),
      HOTSPOT_DATA_DIR: path.join(bench.servers.root, `data-${i}`),
      HOTSPOT_KEY_PREFIX: `b${i}:`,
      // wrk comes from one address: per-address and global budgets would refuse almost everything.
      SECKILL_IP_LIMIT: '0',
      SMS_ADDRESS_LIMIT: '0',
      SMS_GLOBAL_LIMIT: '0',
      // wrk ends a run by closing connections with requests in flight: each would log a warning.
      LOG_LEVEL: 'error',
    },
    {
      nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${build.profileDir}`, 'bin/hotspot.js', 'api'],
      cwd: build.dir,
    },
  )
}
const serverOf = (build: Build) => build.server as Contender

interface Route {
  name: string
  method: 'GET' | 'POST'
  body?: string
  bodyLua?: string
  /** The path for a round (a fresh product), created on that build. */
  path: (build: Build, round: number) => Promise<string>
}

const items = new Map<Build, number>()
for (const build of builds) {
  const item = await bench.admin<{ id: number }>(serverOf(build), 'POST', '/api/items', {
    kind: 'article',
    title: 'profiled',
  })
  items.set(build, item.id)
}
const routes: Route[] = [
  {
    name: 'POST /api/items/:id/views',
    method: 'POST',
    body: JSON.stringify({ visitorId: 'bench-visitor' }),
    path: async (build) => `/api/items/${items.get(build)}/views`,
  },
  { name: 'GET /api/banners', method: 'GET', path: async () => '/api/banners' },
  {
    name: 'POST /api/seckill/:id',
    method: 'POST',
    // A user of its own per attempt: the per-user limit never refuses, the stock (100) does.
    bodyLua: `'{"userId":"wrk-' .. n .. '"}'`,
    path: async (build, round) => {
      const product = await bench.admin<{ id: number }>(serverOf(build), 'POST', '/api/products', {
        name: `profiled ${round}`,
        stock: 100,
      })
      return `/api/seckill/${product.id}`
    },
  },
  {
    name: 'POST /api/sms',
    method: 'POST',
    // A random China mobile number per body, so the per-phone limit rarely refuses.
    bodyLua: `string.format('{"phone":"139%08d","content":"Your code is 123456"}', math.random(0, 99999999))`,
    path: async () => '/api/sms',
  },
]

/** Profile windows (hrtime µs) per build and route, and the Redis commands each run caused. */
const windows = new Map<string, [number, number][]>()
const commands = new Map<string, Map<string, { calls: number; usec: number; requests: number }>>()
const key = (build: Build, route: Route) => `${build.label}\u0000${route.name}`
const runName = (build: Build, route: Route) => `${route.name} — ${build.label}`

async function commandStats(): Promise<Map<string, { calls: number; usec: number }>> {
  const stats = new Map<string, { calls: number; usec: number }>()
  for (const line of (await redis.info('commandstats')).split('\n')) {
    const m = /^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/.exec(line.trim())
    if (m) stats.set(m[1] as string, { calls: Number(m[2]), usec: Number(m[3]) })
  }
  return stats
}

function runOf(build: Build, route: Route): HttpRun {
  let started = 0
  return {
    name: runName(build, route),
    server: serverOf(build),
    path: '/',
    method: route.method,
    body: route.body,
    bodyLua: route.bodyLua,
    prepare: async (round) => {
      const p = await route.path(build, round)
      await redis.config('RESETSTAT')
      started = nowUs()
      return p
    },
    check: async (_round, result) => {
      const ended = nowUs()
      const k = key(build, route)
      windows.set(k, [...(windows.get(k) ?? []), [started, ended]])
      const totals = commands.get(k) ?? new Map()
      for (const [name, s] of await commandStats()) {
        if (name === 'config' || name === 'info') continue
        const t = totals.get(name) ?? { calls: 0, usec: 0, requests: 0 }
        totals.set(name, { calls: t.calls + s.calls, usec: t.usec + s.usec, requests: t.requests })
      }
      for (const t of totals.values()) t.requests += result.requests
      commands.set(k, totals)
      return undefined
    },
  }
}

say('warming up (JIT) each route on each build')
for (const build of builds)
  for (const route of routes) {
    await measure({
      url: `${serverOf(build).url}${await route.path(build, 0)}`,
      method: route.method,
      body: route.body,
      bodyLua: route.bodyLua,
      connections,
      seconds: 2,
    })
  }

const HELLO = '(a) Fastify hello-world'
const results = await alternatingRounds({
  rounds,
  seconds,
  connections,
  servers: bench.shared,
  runs: [
    { name: HELLO, server: hello, path: '/' },
    ...routes.flatMap((route) => builds.map((build) => runOf(build, route))),
  ],
})

say('stopping the profiled processes (they write their profiles on exit)')
const profiles = new Map<Build, ReturnType<typeof readProfile>>()
for (const build of builds) {
  await serverOf(build).stop()
  const file = fs.readdirSync(build.profileDir).find((f) => f.endsWith('.cpuprofile'))
  if (!file) throw new Error(`no profile from ${build.label}`)
  profiles.set(build, readProfile(path.join(build.profileDir, file)))
}

const f0 = (n: number) => n.toFixed(0)
const nodeUs = (name: string) => results.map((r) => r[name]?.cpuUs.node ?? 0)
const medianOf = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0

const lines = [
  `# Hot-path profile — ${new Date().toISOString()}`,
  '',
  `Machine: ${machine()}. The compiled runtime (\`node --cpu-prof bin/hotspot.js api\`, dist/), SQLite, private`,
  `Redis and RabbitMQ; wrk, ${connections} connections, ${seconds} s per run, ${rounds} alternating rounds, after a`,
  '2 s warm-up per route. CPU per request from /proc (node = the API process, with the profiler running: it costs',
  'every contender alike). Per-address and global limits are off (wrk is one address).',
  loadLine(loadAtStart),
  '',
]
if (builds.length === 2) {
  const [before, after] = builds as [Build, Build]
  lines.push(
    `## Node CPU µs per request, ${before.label} vs ${after.label} (median and spread over rounds)`,
    '',
    '| route | before | after | after / before (per round) |',
    '|---|---|---|---|',
    ...routes.map((route) => {
      const b = nodeUs(runName(before, route))
      const a = nodeUs(runName(after, route))
      return `| ${route.name} | ${spread(b, f0)} | ${spread(a, f0)} | ${spread(
        a.map((x, i) => x / Math.max(1e-9, b[i] ?? 0)),
        pct,
      )} |`
    }),
    `| hello-world (reference) | ${spread(nodeUs(HELLO), f0)} | | |`,
    '',
  )
}
for (const route of routes) {
  lines.push(`## ${route.name}`, '')
  const summaries = builds.map((build) => {
    const profile = profiles.get(build) as ReturnType<typeof readProfile>
    const ws = windows.get(key(build, route)) ?? []
    // One summary over all this route's windows: summarise each and weigh by busy samples.
    const parts = ws.map(([from, to]) => summarise(profile, from, to, 15))
    const busy = parts.reduce((s, p) => s + p.busySamples, 0)
    const merge = (pick: (p: (typeof parts)[number]) => [string, number][]) => {
      const m = new Map<string, number>()
      for (const p of parts) for (const [k, v] of pick(p)) m.set(k, (m.get(k) ?? 0) + v * p.busySamples)
      return [...m.entries()]
        .map(([k, v]): [string, number] => [k, v / Math.max(1, busy)])
        .sort((a, b) => b[1] - a[1])
    }
    return {
      build,
      busy,
      categories: merge((p) => p.categories),
      top: merge((p) => p.topFunctions).slice(0, 12),
      us: medianOf(nodeUs(runName(build, route))),
    }
  })
  const names = [...new Set(summaries.flatMap((s) => s.categories.map(([c]) => c)))]
  lines.push(
    `Node CPU by part (share of profile samples × the median node CPU µs/req):`,
    '',
    `| part | ${summaries.map((s) => `${s.build.label} % | µs/req`).join(' | ')} |`,
    `|---|${summaries.map(() => '---|---').join('|')}|`,
    ...names.map((name) => {
      const cells = summaries.map((s) => {
        const share = s.categories.find(([c]) => c === name)?.[1] ?? 0
        return `${(share * 100).toFixed(1)} | ${(share * s.us).toFixed(1)}`
      })
      return `| ${name} | ${cells.join(' | ')} |`
    }),
    `| **total** | ${summaries.map((s) => `100 | ${s.us.toFixed(0)}`).join(' | ')} |`,
    '',
    'Redis commands per request (INFO commandstats; `evalsha` is the Lua scripts, usec is redis-server time):',
    '',
  )
  for (const s of summaries) {
    const stats = [...(commands.get(key(s.build, route)) ?? new Map()).entries()]
      .filter(([, t]) => t.calls > 0)
      .sort((a, b) => b[1].usec - a[1].usec)
      .map(
        ([name, t]) =>
          `${name} ${(t.calls / Math.max(1, t.requests)).toFixed(2)}/req ${(t.usec / Math.max(1, t.requests)).toFixed(1)} µs/req`,
      )
    lines.push(`- ${s.build.label}: ${stats.join('; ') || 'none'}`)
  }
  lines.push('', `Most self time (${summaries.at(-1)?.build.label}):`, '')
  for (const [name, share] of summaries.at(-1)?.top ?? [])
    lines.push(`- ${(share * 100).toFixed(1)} % ${name}`)
  lines.push('')
}
lines.push(...budgetAndRounds(results))
writeResult('profile', lines.join('\n'))

redis.disconnect()
await bench.stop()
process.exit(0)
