/**
 * `npm run bench -- scale`: what a Redis Cluster costs and what a second API process brings, in one run.
 * Contenders (real `hotspot api` processes, views over many items so every Redis shard gets traffic):
 *   (a) 1 API process, standalone Redis      (b) 1 API process, 3-master Redis Cluster
 *   (c) `--workers 2`, standalone Redis       (d) `--workers 2`, 3-master Redis Cluster
 * plus the sliding-window limiter called directly (no HTTP) on standalone vs Cluster. Alternating rounds (this
 * machine is noisy): the summary uses medians of per-round ratios. CPU time per 1 000 requests of each API
 * process, Redis, RabbitMQ and the load generator, and how busy the whole machine was, say where the time goes and
 * whether the cores were the limit; per-master command counts show how the load spreads.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import calculateSlot from 'cluster-key-slot'
import { Redis } from 'ioredis'
import { BUCKET_TAGS } from '../src/counters/keys.ts'
import { freePort, type RunningServer, startRabbitMQ, startRedis } from '../src/infra/local-servers.ts'
import { createRedis, type RedisClient } from '../src/infra/redis.ts'
import { createLimiter } from '../src/ratelimit/index.ts'
import { type RunningRedisCluster, startRedisCluster } from '../test/support/local-clusters.ts'
import { machine, measure, median, pct, say, writeResult } from './lib.ts'
import { cpuMs, machineBusyMs, treeCpuMs } from './lib-cpu.ts'

const rounds = Number(process.env.BENCH_ROUNDS ?? 3)
const seconds = Number(process.env.BENCH_SECONDS ?? 10)
const connections = 100
const ITEMS = 256
const token = 'bench-admin-token-0123456789'

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'hotspot-bench-scale-'))
const started: { stop(): Promise<void> }[] = []
const apis: Api[] = []
async function cleanUp() {
  await Promise.all(apis.map((a) => a.stop().catch(() => {})))
  await Promise.all(started.map((s) => s.stop().catch(() => {})))
  fs.rmSync(root, { recursive: true, force: true })
}
// Never leave servers or API processes running, whatever happens to the run.
for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.once(signal, () => cleanUp().finally(() => process.exit(130)))
for (const event of ['uncaughtException', 'unhandledRejection'] as const)
  process.once(event, (error) => {
    say(`failed: ${(error as Error)?.stack ?? error}`)
    cleanUp().finally(() => process.exit(1))
  })

say('starting Redis, a 3-master Redis Cluster and RabbitMQ')
const servers = await Promise.allSettled([
  startRedis({ dir: path.join(root, 'redis') }),
  // No replicas: the comparison is one Redis vs three, both without replication.
  startRedisCluster({ dir: path.join(root, 'cluster'), replicasPerMaster: 0 }),
  startRabbitMQ({ dir: path.join(root, 'rabbitmq') }),
])
for (const s of servers) if (s.status === 'fulfilled') started.push(s.value)
const failed = servers.find((s) => s.status === 'rejected')
if (failed) {
  await cleanUp()
  throw failed.reason
}
const [standalone, cluster, rabbit] = servers.map((s) => (s as PromiseFulfilledResult<unknown>).value) as [
  RunningServer,
  RunningRedisCluster,
  RunningServer,
]

interface Api {
  name: string
  url: string
  pids(): number[]
  stop(): Promise<void>
}

/** `hotspot api [--workers N]` in its own process tree, ready once every worker listens. */
async function startApi(name: string, redisUrl: string, database: string, workers: number): Promise<Api> {
  const port = await freePort()
  const args = ['bin/hotspot.js', 'api', ...(workers > 1 ? ['--workers', String(workers)] : [])]
  const child: ChildProcess = spawn(process.execPath, args, {
    env: {
      ...process.env,
      REDIS_URL: redisUrl,
      AMQP_URL: rabbit.url,
      DATABASE_URL: path.join(root, database),
      HOTSPOT_ADMIN_TOKEN: token,
      HOTSPOT_DATA_DIR: path.join(root, `data-${name}`),
      PORT: String(port),
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  let log = ''
  child.stderr?.on('data', (d) => {
    log += d
  })
  const deadline = Date.now() + 120_000
  while ((log.match(/ready on/g) ?? []).length < workers) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`${name} did not start: ${log}`)
    await new Promise((r) => setTimeout(r, 200))
  }
  const pid = child.pid as number
  const api: Api = {
    name,
    url: `http://127.0.0.1:${port}`,
    pids: () => [pid, ...childrenOf(pid)],
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve()
        child.once('exit', () => resolve())
        child.kill('SIGTERM')
      }),
  }
  apis.push(api)
  return api
}

function childrenOf(pid: number): number[] {
  try {
    const text = fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim()
    return text ? text.split(/\s+/).map(Number) : []
  } catch {
    return []
  }
}

async function createItems(api: Api): Promise<number[]> {
  const ids: number[] = []
  for (let i = 0; i < ITEMS; i++) {
    const res = await fetch(`${api.url}/api/items`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ kind: 'article', title: `scale ${i}` }),
    })
    ids.push(((await res.json()) as { id: number }).id)
  }
  return ids
}

interface Run {
  rps: number
  p50: number
  p99: number
  errors: number
  /** Each API process on its own (for `--workers 2`: the primary, then its workers); `apiCpu` sums them. */
  perProcessCpuPer1k: number[]
  redisCpuPer1k: number
  /** Socket reads Redis made (INFO's total_reads_processed): fewer per request = more commands per write. */
  redisReadsPer1k: number
  rabbitCpuPer1k: number
  wrkCpuPer1k: number
  /** Share of all cores' time the machine spent busy during the run (anything that ran, not only these). */
  machineBusy: number
}

/** wrk, each request a view of a random item (so the views spread over the 16 buckets and every shard). */
async function measureViews(api: Api, ids: number[], redisNodes: RedisNode[]): Promise<Run> {
  const pids = api.pids()
  const redisPids = redisNodes.map((n) => n.pid)
  const readsBefore = sum(await redisStat(redisNodes, 'total_reads_processed'))
  const cpuBefore = {
    api: pids.map((pid) => cpuMs([pid])),
    redis: cpuMs(redisPids),
    rabbit: treeCpuMs(rabbit.pid),
    machine: machineBusyMs(),
    at: performance.now(),
  }
  const result = await measure({
    url: api.url,
    method: 'POST',
    body: '{}',
    paths: ids.map((id) => `/api/items/${id}/views`),
    connections,
    seconds,
  })
  const wallMs = performance.now() - cpuBefore.at
  const perProcess = pids.map((pid, i) => cpuMs([pid]) - (cpuBefore.api[i] ?? 0))
  const per1k = (ms: number) => (ms / Math.max(1, result.requests)) * 1000
  return {
    rps: result.requestsPerSecond,
    p50: result.p50,
    p99: result.p99,
    errors: result.errors,
    perProcessCpuPer1k: perProcess.map(per1k),
    redisCpuPer1k: per1k(cpuMs(redisPids) - cpuBefore.redis),
    redisReadsPer1k: per1k(sum(await redisStat(redisNodes, 'total_reads_processed')) - readsBefore),
    rabbitCpuPer1k: per1k(treeCpuMs(rabbit.pid) - cpuBefore.rabbit),
    wrkCpuPer1k: per1k(result.loadGeneratorCpuMs ?? 0),
    machineBusy: (machineBusyMs() - cpuBefore.machine) / (wallMs * os.cpus().length),
  }
}

/** Limiter decisions per second from this process, 100 in flight, over 10 000 subjects (all slots). */
async function measureLimiter(redis: RedisClient): Promise<number> {
  const limiter = createLimiter(redis, `bench-${randomUUID().slice(0, 8)}`)
  const rule = { limit: 1_000_000, windowMs: 60_000 }
  let decisions = 0
  const until = Date.now() + Math.min(seconds, 5) * 1000
  await Promise.all(
    Array.from({ length: 100 }, async (_, c) => {
      for (let i = c; Date.now() < until; i += 100) {
        await limiter.take(`s${i % 10_000}`, rule)
        decisions++
      }
    }),
  )
  return decisions / Math.min(seconds, 5)
}

interface RedisNode {
  pid: number
  port: number
}
const sum = (xs: number[]) => xs.reduce((total, x) => total + x, 0)
const apiCpu = (r: Run) => sum(r.perProcessCpuPer1k)

/** One counter of INFO stats, per node. */
async function redisStat(nodes: RedisNode[], field: string): Promise<number[]> {
  return Promise.all(
    nodes.map(async (node) => {
      const client = new Redis({ port: node.port, host: '127.0.0.1' })
      const info = await client.info('stats')
      client.disconnect()
      return Number(new RegExp(`${field}:(\\d+)`).exec(info)?.[1] ?? 0)
    }),
  )
}
const commandsPerMaster = (c: RunningRedisCluster) => redisStat(c.nodes, 'total_commands_processed')

say('starting API contenders')
const standaloneNode = [{ pid: standalone.pid, port: Number(new URL(standalone.url).port) }]
const a = await startApi('1 process, standalone', standalone.url, 'standalone.db', 1)
const standaloneIds = await createItems(a)
const b = await startApi('1 process, cluster', cluster.url, 'cluster.db', 1)
const clusterIds = await createItems(b)
const c = await startApi('2 processes, standalone', standalone.url, 'standalone.db', 2)
const d = await startApi('2 processes, cluster', cluster.url, 'cluster.db', 2)
const limiterClients = { standalone: createRedis(standalone.url), cluster: createRedis(cluster.url) }

interface Round {
  a: Run
  b: Run
  c: Run
  d: Run
  limiterStandalone: number
  limiterCluster: number
  spread: number[]
}
const results: Round[] = []
for (let round = 1; round <= rounds; round++) {
  say(`round ${round}/${rounds}`)
  const ra = await measureViews(a, standaloneIds, standaloneNode)
  const before = await commandsPerMaster(cluster)
  const rb = await measureViews(b, clusterIds, cluster.nodes)
  const after = await commandsPerMaster(cluster)
  const rc = await measureViews(c, standaloneIds, standaloneNode)
  const rd = await measureViews(d, clusterIds, cluster.nodes)
  const limiterStandalone = await measureLimiter(limiterClients.standalone)
  const limiterCluster = await measureLimiter(limiterClients.cluster)
  results.push({
    a: ra,
    b: rb,
    c: rc,
    d: rd,
    limiterStandalone,
    limiterCluster,
    spread: after.map((n, i) => n - (before[i] ?? 0)),
  })
  say(
    `  views req/s: 1p standalone ${ra.rps.toFixed(0)}, 1p cluster ${rb.rps.toFixed(0)}, 2p standalone ${rc.rps.toFixed(0)}, 2p cluster ${rd.rps.toFixed(0)}; limiter/s standalone ${limiterStandalone.toFixed(0)}, cluster ${limiterCluster.toFixed(0)}`,
  )
}

const total = (r: Run) => apiCpu(r) + r.redisCpuPer1k + r.rabbitCpuPer1k + r.wrkCpuPer1k
const row = (name: string, r: Run) =>
  `| ${name} | ${r.rps.toFixed(0)} | ${r.p50.toFixed(1)} | ${r.p99.toFixed(1)} | ${r.errors} | ${r.perProcessCpuPer1k.map((ms) => ms.toFixed(0)).join(' + ')} | ${r.redisCpuPer1k.toFixed(0)} | ${r.rabbitCpuPer1k.toFixed(0)} | ${r.wrkCpuPer1k.toFixed(0)} | ${total(r).toFixed(0)} | ${pct(r.machineBusy)} |`
/**
 * The most requests per second these CPU costs allow on this machine, and what sets it: each single-threaded
 * process (an API process, Redis, wrk's one thread) can use at most one core, and all of them together at most
 * every core.
 */
function ceiling(r: Run): { rps: number; limit: string } {
  const limits: [string, number][] = [
    ...r.perProcessCpuPer1k
      .filter((ms) => ms > 1)
      .map((ms, i): [string, number] => [`API process ${i + 1}`, 1e6 / ms]),
    ['Redis', 1e6 / Math.max(1, r.redisCpuPer1k)],
    ['wrk', 1e6 / Math.max(1, r.wrkCpuPer1k)],
    [`all ${os.cpus().length} cores`, (os.cpus().length * 1e6) / Math.max(1, total(r))],
  ]
  const [limit, rps] = limits.reduce((low, l) => (l[1] < low[1] ? l : low))
  return { rps, limit }
}
const lines = [
  `# Scale benchmark — ${new Date().toISOString()}`,
  '',
  `Machine: ${machine()}, load average at the end ${os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(
      ' / ',
    )}. wrk (1 thread, ${connections} connections, ${seconds} s), POST /api/items/:id/views over ${ITEMS} items picked at random; ${rounds} alternating rounds.`,
  'Real `hotspot api` processes (`--workers 2` for two), private servers: one redis-server, a Redis Cluster of 3 masters (no replicas, like the single one), one RabbitMQ node, SQLite.',
  'CPU columns: milliseconds of CPU per 1 000 answered requests: each API process (for two: the primary, which only',
  'supervises, then its workers), Redis (all nodes), RabbitMQ, wrk, their total; then the share of all cores the',
  'machine spent busy during the run (whatever ran).',
  '',
  '## Per round',
  '',
]
for (const [i, r] of results.entries()) {
  lines.push(
    `### Round ${i + 1}`,
    '',
    '| contender | req/s | p50 ms | p99 ms | errors | API CPU ms/1k | Redis | RabbitMQ | wrk | total | machine busy |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
    row('(a) 1 process, standalone Redis', r.a),
    row('(b) 1 process, Redis Cluster', r.b),
    row('(c) 2 processes, standalone Redis', r.c),
    row('(d) 2 processes, Redis Cluster', r.d),
    '',
    `Limiter (direct, 100 in flight): standalone ${r.limiterStandalone.toFixed(0)}/s, Cluster ${r.limiterCluster.toFixed(0)}/s.`,
    `Commands per Cluster master during (b): ${r.spread.join(' / ')} (${r.spread
      .map((n) => pct(n / Math.max(1, sum(r.spread))))
      .join(' / ')}).`,
    '',
  )
}
const m = (f: (r: Round) => number) => median(results.map(f))
/** "12 % more" / "2 % less": how `after` compares with `before`. */
const change = (before: number, after: number) =>
  `${pct(Math.abs(after / before - 1))} ${after >= before ? 'more' : 'less'}`
/** "0.85× (15 % slower)": a ratio of throughputs, said both ways. */
const vs = (ratio: number) =>
  `${ratio.toFixed(2)}× (${pct(Math.abs(1 - ratio))} ${ratio <= 1 ? 'slower' : 'faster'})`
// CPU per request does not depend on how busy the machine is (throughput does): what 2 cores could serve if the
// API processes and Redis had them to themselves (the load generator's own CPU left out).
const cpuBound = (r: Run) => (os.cpus().length * 1_000_000) / Math.max(1, apiCpu(r) + r.redisCpuPer1k)
const spread = results[0]?.spread ?? []
/** Every figure of a contender's runs, as the median over rounds. */
function medianRun(runs: Run[]): Run {
  const f = (pick: (r: Run) => number) => median(runs.map(pick))
  return {
    rps: f((r) => r.rps),
    p50: f((r) => r.p50),
    p99: f((r) => r.p99),
    errors: f((r) => r.errors),
    perProcessCpuPer1k: (runs[0]?.perProcessCpuPer1k ?? []).map((_, i) =>
      f((r) => r.perProcessCpuPer1k[i] ?? 0),
    ),
    redisCpuPer1k: f((r) => r.redisCpuPer1k),
    redisReadsPer1k: f((r) => r.redisReadsPer1k),
    rabbitCpuPer1k: f((r) => r.rabbitCpuPer1k),
    wrkCpuPer1k: f((r) => r.wrkCpuPer1k),
    machineBusy: f((r) => r.machineBusy),
  }
}
const one = medianRun(results.map((r) => r.a))
const two = medianRun(results.map((r) => r.c))
const oneCeiling = ceiling(one)
const twoCeiling = ceiling(two)
const budget = (r: Run) =>
  `${r.perProcessCpuPer1k.length > 1 ? `${r.perProcessCpuPer1k.length - 1} processes` : '1 process'}: API ${r.perProcessCpuPer1k.map((ms) => ms.toFixed(0)).join(' + ')} + Redis ${r.redisCpuPer1k.toFixed(0)} + RabbitMQ ${r.rabbitCpuPer1k.toFixed(0)} + wrk ${r.wrkCpuPer1k.toFixed(0)} = ${total(r).toFixed(0)}`
// redis-cli --cluster create gives 3 masters the slots 0–5460, 5461–10922 and 10923–16383.
const bucketsPerMaster = [0, 0, 0]
for (const tag of BUCKET_TAGS) {
  const slot = calculateSlot(tag)
  const master = slot <= 5460 ? 0 : slot <= 10922 ? 1 : 2
  bucketsPerMaster[master] = (bucketsPerMaster[master] ?? 0) + 1
}
lines.push(
  '## Summary (medians of per-round ratios)',
  '',
  `- Redis Cluster vs standalone, 1 API process: **${vs(m((r) => r.b.rps / r.a.rps))}** (goal: at most 20 % slower); by CPU per request: ${vs(m((r) => cpuBound(r.b) / cpuBound(r.a)))}`,
  `- Redis Cluster vs standalone, 2 API processes: ${vs(m((r) => r.d.rps / r.c.rps))}; by CPU per request: ${vs(m((r) => cpuBound(r.d) / cpuBound(r.c)))}`,
  `- Limiter decisions, Cluster vs standalone: ${vs(m((r) => r.limiterCluster / r.limiterStandalone))}`,
  `- 2 API processes vs 1, standalone Redis: **${m((r) => r.c.rps / r.a.rps).toFixed(2)}×** (goal ≥ 1.5×); on the Cluster: ${m((r) => r.d.rps / r.b.rps).toFixed(2)}×`,
  `- CPU per 1 000 views, 1 process: API ${m((r) => apiCpu(r.a)).toFixed(0)} ms + Redis ${m((r) => r.a.redisCpuPer1k).toFixed(0)} ms standalone; API ${m((r) => apiCpu(r.b)).toFixed(0)} ms + Redis ${m((r) => r.b.redisCpuPer1k).toFixed(0)} ms (3 nodes) on the Cluster`,
  `- Where the cores go, standalone Redis (CPU ms per 1 000 views, medians): ${budget(one)}; ${budget(two)}`,
  `- The most these costs allow on ${os.cpus().length} cores: 1 process **${oneCeiling.rps.toFixed(0)} req/s** (set by ${oneCeiling.limit}; measured ${one.rps.toFixed(0)}, machine ${pct(one.machineBusy)} busy), 2 processes **${twoCeiling.rps.toFixed(0)} req/s** (set by ${twoCeiling.limit}; measured ${two.rps.toFixed(0)}, machine ${pct(two.machineBusy)} busy): 2 vs 1 can reach at most **${(twoCeiling.rps / oneCeiling.rps).toFixed(2)}×** here`,
  `- A view costs the API side ${change(apiCpu(one), apiCpu(two))} CPU on 2 processes than on 1 (${apiCpu(one).toFixed(0)} → ${apiCpu(two).toFixed(0)} ms per 1 000), Redis ${change(one.redisCpuPer1k, two.redisCpuPer1k)} (${one.redisCpuPer1k.toFixed(0)} → ${two.redisCpuPer1k.toFixed(0)}); Redis made ${one.redisReadsPer1k.toFixed(0)} → ${two.redisReadsPer1k.toFixed(0)} socket reads per 1 000 views (fewer commands arrive per write)`,
  `- Views spread over the 3 masters: ${spread
    .map((n) => pct(n / Math.max(1, sum(spread))))
    .join(
      ' / ',
    )} of the commands (the 16 bucket tags fall ${bucketsPerMaster.join(' / ')} on the standard slot split)`,
  `- 2 API processes vs 1 per round (standalone Redis): ${results.map((r) => `${(r.c.rps / r.a.rps).toFixed(2)}×`).join(', ')}`,
  '',
  '## Reading it',
  '',
  'Throughput here depends on what else the machine runs (see the load average above): the per-request CPU columns',
  'do not, so the summary also compares contenders by them. The ceiling line puts them together: a single-threaded',
  'process (an API process, Redis, wrk) can use at most one core and everything together at most all of them, so',
  'the smallest of those limits is the most the contender could serve on this machine. Where a second API process',
  'gains less than 1.5×, that line says which of them binds: with wrk and Redis on the same 2 cores, two API',
  'processes compete with them for the second core. A second process also costs more per view than the first: at',
  'half the load each process answers fewer requests per event-loop turn, so its Redis commands leave in more and',
  'smaller writes (auto-pipelining batches per turn) and Redis reads more, smaller packets.',
  'The Cluster costs Redis CPU (three event loops instead of one; the views script, whose key count varies, goes',
  'out call by call instead of in one auto-pipelined write, since a Cluster pipeline cannot span nodes), while the',
  'API side stays about the same; each master carries the share of the 16 buckets its slots hold, which the',
  'bucket tags of src/counters/keys.ts keep even.',
  '',
)
writeResult('scale', lines.join('\n'))

limiterClients.standalone.disconnect()
limiterClients.cluster.disconnect()
await cleanUp()
process.exit(0)
