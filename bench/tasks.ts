/**
 * `npm run bench -- tasks`: end-to-end throughput and latency of no-op tasks, persistent + acked late, results
 * stored in Redis, on private RabbitMQ and Redis servers. Contenders, each in a process of its own:
 *   (a) hotspot's task system on RabbitMQ (createApp, producer.send, the worker), (r) the same on its Redis broker
 *   (kombu's transport, BROKER_URL=redis://), (b) the same by hand on amqplib, (c) BullMQ on the same Redis,
 *   (e)(f) celery-node on RabbitMQ and on Redis, (d) Python Celery 5 from Debian (prefork, concurrency 2).
 * (a)(r)(b)(c)(e)(f) run in alternating rounds (this machine is noisy: the summary uses medians of per-round
 * ratios), then hotspot's worker alone on a pre-filled queue (both brokers: tasks per minute of one process), one
 * V8 profile of that worker, and (d) once. Every run uses fresh queue names and an emptied Redis.
 * BENCH_QUICK=1: a short run (1 round, 500 tasks) to check that everything works; it writes *-tasks-quick.md.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import amqp from 'amqplib'
import { Redis } from 'ioredis'
import { ensureCompiled, machine, median, pct, privateServers, say, writeResult } from './lib.ts'
import { treeCpuMs } from './lib-cpu.ts'
import { profileLines } from './lib-tasks-profile.ts'
import type { ContenderReport } from './servers/tasks-support.ts'

const quick = process.env.BENCH_QUICK === '1'
const rounds = Number(process.env.BENCH_ROUNDS ?? (quick ? 1 : 3))
const tasks = Number(process.env.BENCH_TASKS ?? (quick ? 500 : 20_000))
// Celery's client waits for each publish confirm in turn (~100/s here): 5 000 tasks, compared per second.
const celeryTasks = Number(process.env.BENCH_CELERY_TASKS ?? Math.min(tasks, quick ? 100 : 5000))
/** hotspot's worker alone on a pre-filled queue: more tasks, so start-up weighs little in the rate. */
const drainTasks = Number(process.env.BENCH_DRAIN_TASKS ?? (quick ? 1000 : 100_000))
/**
 * celery-node on RabbitMQ runs ~45 tasks/s here (its result backend answers one task at a time): fewer tasks, so a
 * round takes seconds rather than minutes; it is compared per second like every other contender.
 */
const celeryNodeAmqpTasks = Number(
  process.env.BENCH_CELERY_NODE_AMQP_TASKS ?? Math.min(tasks, quick ? 100 : 1000),
)
const inFlight = 1000
const concurrency = 100
const prefetch = 200
const celeryConcurrency = 2
/** With BENCH_PROFILE=<dir>, hotspot's runs write V8 CPU profiles there (node --cpu-prof). */
const profileDir = process.env.BENCH_PROFILE
const PYTHON = '/usr/bin/python3'
const pythonDir = new URL('./python/', import.meta.url).pathname
const hasCelery = fs.existsSync('/usr/lib/python3/dist-packages/celery')

const servers = await privateServers({ rabbitmq: true })
const env = {
  ...process.env,
  REDIS_URL: servers.redis.url,
  AMQP_URL: servers.rabbit?.url as string,
  TASKS_N: String(tasks),
  TASKS_IN_FLIGHT: String(inFlight),
  TASKS_CONCURRENCY: String(concurrency),
  TASKS_PREFETCH: String(prefetch),
  LOG_LEVEL: 'warn',
} as NodeJS.ProcessEnv
delete env.BROKER_URL // each contender is told its broker (TASKS_BROKER)
// Never leave the private servers running, whatever happens to the run.
for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.once(signal, () => servers.stop().finally(() => process.exit(130)))
process.once('uncaughtException', (error) => {
  say(`failed: ${error.stack ?? error}`)
  servers.stop().finally(() => process.exit(1))
})
process.once('unhandledRejection', (error) => {
  say(`failed: ${(error as Error)?.stack ?? error}`)
  servers.stop().finally(() => process.exit(1))
})
const redis = new Redis(servers.redis.url)
const broker = await amqp.connect(servers.rabbit?.url as string)
// Same durability for every contender: one Redis (AOF) for all, RabbitMQ's persistent messages on disk.
const aof = (await redis.config('GET', 'appendonly')) as string[]
const fsync = (await redis.config('GET', 'appendfsync')) as string[]
const durability = `Redis appendonly ${aof[1]}, appendfsync ${fsync[1]} (the same server for every contender)`

/** CPU the shared servers spent while `run` ran, ms. */
async function withServerCpu<T>(run: () => Promise<T>): Promise<T & { rabbitMs: number; redisMs: number }> {
  const rabbitPid = servers.rabbit?.pid as number
  const before = { rabbit: treeCpuMs(rabbitPid), redis: treeCpuMs(servers.redis.pid) }
  const result = await run()
  return {
    ...result,
    rabbitMs: treeCpuMs(rabbitPid) - before.rabbit,
    redisMs: treeCpuMs(servers.redis.pid) - before.redis,
  }
}

/** Waits for a child to exit 0 and returns its `RESULT {json}` line (undefined when it printed none). */
function collect(child: ChildProcess, name: string): Promise<ContenderReport | undefined> {
  return new Promise((resolve, reject) => {
    let out = ''
    child.stdout?.on('data', (d) => {
      out += d
    })
    child.on('exit', (code) => {
      const line = /^RESULT (.*)$/m.exec(out)
      if (code === 0) resolve(line ? (JSON.parse(line[1] as string) as ContenderReport) : undefined)
      else reject(new Error(`${name} exited with ${code}: ${out.slice(-500)}`))
    })
  })
}

async function reported(child: ChildProcess, name: string): Promise<ContenderReport> {
  const result = await collect(child, name)
  if (!result) throw new Error(`${name} printed no RESULT line`)
  return result
}

/** A Node contender from bench/servers/, on a queue of its own; `profile` = write a V8 CPU profile there. */
function runNode(
  script: string,
  queue: string,
  extra: Record<string, string> = {},
  profile = profileDir && script.includes('hotspot') ? profileDir : undefined,
): Promise<ContenderReport> {
  const flags = profile ? ['--cpu-prof', '--cpu-prof-dir', profile] : []
  // hotspot's contender loads its code from dist/, as `hotspot worker` runs: compiled once, before its first run.
  if (script === HOTSPOT) ensureCompiled()
  const child = spawn(process.execPath, ['--import', 'tsx', ...flags, script], {
    env: { ...env, TASKS_QUEUE: queue, ...extra },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  return reported(child, script)
}

const pyEnv = {
  ...env,
  PYTHONPATH: pythonDir,
  TASKS_PREFETCH_MULTIPLIER: String(prefetch / celeryConcurrency),
}

/** Celery's prefork worker on `queue`, resolved once it consumes. */
async function startCeleryWorker(queue: string) {
  const worker = spawn(
    PYTHON,
    [
      '-m',
      'celery',
      '-A',
      'bench_celery',
      'worker',
      '-Q',
      queue,
      '-c',
      String(celeryConcurrency),
      '-P',
      'prefork',
      '-l',
      'WARNING',
      '--without-gossip',
      '--without-mingle',
      '--without-heartbeat',
      '-n',
      `${queue}@localhost`,
    ],
    { cwd: pythonDir, env: pyEnv, stdio: ['ignore', 'pipe', 'inherit'] },
  )
  const stop = async () => {
    if (worker.exitCode !== null || worker.signalCode !== null) return
    const exited = new Promise((r) => worker.once('exit', r))
    worker.kill('SIGTERM')
    const timer = setTimeout(() => worker.kill('SIGKILL'), 10_000)
    await exited
    clearTimeout(timer)
  }
  try {
    await new Promise<void>((resolve, reject) => {
      let out = ''
      worker.stdout?.on('data', (d) => {
        out += d
        if (out.includes('ready')) resolve()
      })
      worker.once('exit', (code) => reject(new Error(`celery worker exited with ${code}`)))
      setTimeout(() => reject(new Error('celery worker not ready within 60 s')), 60_000).unref()
    })
  } catch (error) {
    await stop()
    throw error
  }
  return { stop, pid: worker.pid as number }
}

function celeryClient(queue: string, mode: 'both' | 'send' | 'wait') {
  const idsFile = path.join(servers.root, `${queue}.ids.json`)
  const client = spawn(PYTHON, ['bench_client.py', String(celeryTasks), queue, mode, idsFile], {
    cwd: pythonDir,
    env: pyEnv,
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  return collect(client, `celery client (${mode})`)
}

/** End to end: the worker waits on an empty queue, its client sends and then waits for every result. */
async function runCelery(queue: string): Promise<ContenderReport & { workerMs: number }> {
  const worker = await startCeleryWorker(queue)
  try {
    const before = treeCpuMs(worker.pid)
    const result = (await celeryClient(queue, 'both')) as ContenderReport
    return { ...result, workerMs: treeCpuMs(worker.pid) - before }
  } finally {
    await worker.stop()
  }
}

/**
 * The worker alone: the client fills the queue first, then the worker starts; the rate is the results'
 * date_done span, so neither the client's sending nor the worker's start-up counts.
 */
async function runCeleryDrain(queue: string): Promise<ContenderReport> {
  await celeryClient(queue, 'send')
  const worker = await startCeleryWorker(queue)
  try {
    return (await celeryClient(queue, 'wait')) as ContenderReport
  } finally {
    await worker.stop()
  }
}

/** Drops a round's queue (and the exchange hotspot/Celery declare with its name) and empties the private Redis. */
async function cleanUp(queue: string) {
  const channel = await broker.createChannel()
  await channel.deleteQueue(queue)
  await channel.deleteExchange(queue)
  await channel.close()
  await redis.flushall()
}

const HOTSPOT = 'bench/servers/tasks-hotspot.ts'
const CELERY_NODE = 'bench/servers/tasks-celery-node.ts'
const EVENTS = { WORKER_SEND_EVENTS: 'true', TASK_SEND_SENT_EVENT: 'true' }
const contenders = [
  { key: 'a', name: 'hotspot, RabbitMQ', script: HOTSPOT, env: { TASKS_BROKER: 'amqp' } },
  { key: 'r', name: 'hotspot, Redis broker', script: HOTSPOT, env: { TASKS_BROKER: 'redis' } },
  // #19: Celery events on (task events and task-sent, as `-E` plus task_send_sent_event) against a and r above.
  {
    key: 'ae',
    name: 'hotspot, RabbitMQ, events on',
    script: HOTSPOT,
    env: { TASKS_BROKER: 'amqp', ...EVENTS },
  },
  {
    key: 're',
    name: 'hotspot, Redis broker, events on',
    script: HOTSPOT,
    env: { TASKS_BROKER: 'redis', ...EVENTS },
  },
  { key: 'b', name: 'raw amqplib', script: 'bench/servers/tasks-amqplib.ts', env: {} },
  { key: 'c', name: 'BullMQ', script: 'bench/servers/tasks-bullmq.ts', env: {} },
  {
    key: 'e',
    name: 'celery-node, RabbitMQ',
    script: CELERY_NODE,
    env: { TASKS_BROKER: 'amqp', TASKS_N: String(celeryNodeAmqpTasks) },
  },
  { key: 'f', name: 'celery-node, Redis', script: CELERY_NODE, env: { TASKS_BROKER: 'redis' } },
] as const
type Key = (typeof contenders)[number]['key']
type Run = ContenderReport & { rabbitMs: number; redisMs: number }
type Round = Record<Key, Run>

const results: Round[] = []
const stamp = Date.now()
for (let round = 1; round <= rounds; round++) {
  const r = {} as Round
  // The order rotates from round to round, so no contender always runs first (or last) on a warming machine.
  const order = contenders.map(
    (_, i) => contenders[(i + round - 1) % contenders.length] as (typeof contenders)[number],
  )
  for (const c of order) {
    const queue = `bench-${c.key}-${stamp}-${round}`
    const n = 'TASKS_N' in c.env ? c.env.TASKS_N : tasks
    say(`round ${round}/${rounds}: (${c.key}) ${c.name}, ${n} tasks`)
    r[c.key] = await withServerCpu(() => runNode(c.script, queue, c.env))
    await cleanUp(queue)
    say(`  ${(r[c.key].tasks / r[c.key].seconds).toFixed(0)} tasks/s, found ${r[c.key].found}`)
  }
  results.push(r)
}

/** hotspot's worker process alone on a queue filled beforehand, per broker, once per round. */
const brokers = [
  { key: 'amqp', name: 'RabbitMQ' },
  { key: 'redis', name: 'Redis broker' },
] as const
type Drains = Record<(typeof brokers)[number]['key'], Run[]>
const drains: Drains = { amqp: [], redis: [] }
for (let round = 1; round <= rounds; round++)
  for (const b of brokers) {
    const queue = `bench-drain-${b.key}-${stamp}-${round}`
    say(`drain ${round}/${rounds}: hotspot's worker alone, ${b.name}, ${drainTasks} tasks queued first`)
    const run = await withServerCpu(() =>
      runNode(HOTSPOT, queue, { TASKS_BROKER: b.key, TASKS_MODE: 'drain', TASKS_N: String(drainTasks) }, ''),
    )
    drains[b.key].push(run)
    await cleanUp(queue)
    say(`  ${(drainTasks / run.seconds).toFixed(0)} tasks/s, found ${run.found}`)
  }
const rate = (r: ContenderReport) => r.tasks / r.seconds
const drainRate = (key: keyof Drains) => median(drains[key].map(rate))
const best = drainRate('redis') >= drainRate('amqp') ? brokers[1] : brokers[0]

// Where the worker's time goes: one more drain run on its best broker under --cpu-prof (not counted above).
const profileRoot = fs.mkdtempSync(path.join(servers.root, 'profile-'))
const profileQueue = `bench-profile-${stamp}`
say(`profile: hotspot's worker alone on the ${best.name}, ${drainTasks} tasks, node --cpu-prof`)
const profiled = await runNode(
  HOTSPOT,
  profileQueue,
  { TASKS_BROKER: best.key, TASKS_MODE: 'drain', TASKS_N: String(drainTasks) },
  profileRoot,
)
await cleanUp(profileQueue)

let celery: (Run & { workerMs: number }) | undefined
let celeryDrain: ContenderReport | undefined
if (hasCelery) {
  const queue = `bench-d-${stamp}`
  say(`(d) Celery prefork -c ${celeryConcurrency}, ${celeryTasks} tasks, end to end`)
  celery = await withServerCpu(() => runCelery(queue))
  await cleanUp(queue)
  say(`  ${(celery.tasks / celery.seconds).toFixed(0)} tasks/s, found ${celery.found}`)
  // Celery's client confirms each publish before the next: also measure its worker alone, on a full queue.
  say(`(d') Celery worker alone on a pre-filled queue, ${celeryTasks} tasks`)
  celeryDrain = await runCeleryDrain(`${queue}-drain`)
  await cleanUp(`${queue}-drain`)
  say(`  ${(celeryDrain.tasks / celeryDrain.seconds).toFixed(0)} tasks/s, found ${celeryDrain.found}`)
} else say('python3-celery not installed: (d) skipped')

const ms = (v: number | null) => (v === null ? '—' : v.toFixed(0))
const foundCell = (r: ContenderReport) =>
  r.found === r.tasks ? `all ${r.found}` : `**${r.found} of ${r.tasks}**`
const row = (name: string, r: ContenderReport) =>
  `| ${name} | ${r.tasks} | ${rate(r).toFixed(0)} | ${(r.tasks / r.publishSeconds).toFixed(0)} | ${ms(r.p50)} | ${ms(r.p99)} | ${foundCell(r)} |`
const header = [
  '| contender | tasks | tasks/s end to end | publishes/s | send→start p50 ms | send→start p99 ms | results found |',
  '|---|---|---|---|---|---|---|',
]
const lines = [
  `# Task queue benchmark — ${new Date().toISOString()}${quick ? ' (BENCH_QUICK: a short check run, not a measurement)' : ''}`,
  '',
  `Machine: ${machine()}. Private RabbitMQ and Redis started by the bench, shared by all contenders.`,
  `Durability: ${durability}; RabbitMQ durable queues, persistent messages.`,
  `No-op tasks, persistent messages, acks late, results in Redis; Node consumers: concurrency ${concurrency},`,
  `prefetch ${prefetch}, ${inFlight} publishes in flight; each contender publishes and consumes in one process of`,
  'its own. End to end = first publish → last result verified stored (every result key read back).',
  'Send→start = from the publish call to the handler starting (includes queueing behind the backlog).',
  `${rounds} rounds of (a)(r)(b)(c)(e)(f), the order rotating; then hotspot's worker alone; then (d) once.`,
  '',
  '- (a) hotspot on RabbitMQ: `createApp`, `tasks.producer.send` (Celery protocol v2, publisher confirms), its worker (STARTED, then SUCCESS).',
  "- (r) hotspot on its Redis broker (`BROKER_URL=redis://`, no RabbitMQ): kombu's lists, `unacked` hash + index, fetch and ack one Lua script per batch.",
  '- (b) raw amqplib: confirm channel, Celery-shaped message, consumer storing SUCCESS with SETEX + PUBLISH (MULTI).',
  `- (c) BullMQ: \`addBulk\` in chunks of ${inFlight}, Worker concurrency ${concurrency}, completed jobs kept.`,
  '- (e)(f) celery-node as it ships (`sendTask`, `createWorker`): no publisher confirms, on RabbitMQ it acks on receipt, on Redis it BRPOPs one message per round trip with no ack emulation, no concurrency limit; its per-task console.info silenced.',
  `- (d) Celery 5 (Debian python3-celery): prefork worker \`-c ${celeryConcurrency}\`, acks late, prefetch ${prefetch}; its client \`send_task\` with confirm_publish, polling results with MGET.`,
  '',
]
for (const [i, r] of results.entries()) {
  lines.push(`## Round ${i + 1}`, '', ...header)
  for (const c of contenders) lines.push(row(`(${c.key}) ${c.name}`, r[c.key]))
  lines.push('')
}

lines.push(
  "## hotspot's worker alone (one process, queue filled first)",
  '',
  '| broker | tasks | tasks/s (median) | tasks per minute | worker CPU ms / 1 000 | broker CPU ms / 1 000 | Redis CPU ms / 1 000 | results found |',
  '|---|---|---|---|---|---|---|---|',
)
const perK = (cpuMs: number, n: number) => ((cpuMs / n) * 1000).toFixed(0)
for (const b of brokers) {
  const runs = drains[b.key]
  const mid = (f: (r: Run) => number) => median(runs.map(f))
  const perTask = (f: (r: Run) => number) =>
    perK(
      mid((r) => f(r) / r.tasks),
      1,
    )
  lines.push(
    `| ${b.name} | ${drainTasks} | ${drainRate(b.key).toFixed(0)} | ${(drainRate(b.key) * 60).toFixed(0)} | ${perTask((r) => r.cpuMs ?? 0)} | ${b.key === 'amqp' ? perTask((r) => r.rabbitMs) : '—'} | ${perTask((r) => r.redisMs)} | ${runs.every((r) => r.found === r.tasks) ? 'all' : '**not all**'} |`,
  )
}
lines.push(
  '',
  'From the worker starting (its start-up included) to the last result read back; the CPU columns are the worker',
  "process's own time and the servers' over the same span.",
  '',
)

if (celery && celeryDrain) {
  const drain = celeryDrain
  lines.push(
    '## Celery (once)',
    '',
    ...header,
    row(`(d) Celery prefork -c ${celeryConcurrency}, end to end`, celery),
    `| (d') Celery worker alone, pre-filled queue | ${drain.tasks} | ${rate(drain).toFixed(0)} | — | — | — | ${foundCell(drain)} |`,
    '',
    "(d') is the rate of the results' `date_done` stamps, first to last, with the queue filled before the worker",
    "started: Celery's worker without its client's one-confirm-at-a-time sending and without its start-up.",
    '',
  )
}

// Where the machine's CPU went: on 2 cores the broker's share decides as much as the client code's.
const cpuRow = (name: string, own: number, rabbit: number, redisCpu: number) =>
  `| ${name} | ${own.toFixed(0)} | ${rabbit.toFixed(0)} | ${redisCpu.toFixed(0)} | ${(own + rabbit + redisCpu).toFixed(0)} |`
lines.push(
  '## CPU per 1 000 tasks (ms, median over rounds for the Node contenders)',
  '',
  '| contender | its own process | RabbitMQ | Redis | total |',
  '|---|---|---|---|---|',
)
const cpuPerK = (key: Key, f: (r: Run) => number) =>
  median(results.map((r) => (f(r[key]) / r[key].tasks) * 1000))
const totalPerK = (key: Key) => cpuPerK(key, (r) => (r.cpuMs ?? 0) + r.rabbitMs + r.redisMs)
for (const c of contenders)
  lines.push(
    cpuRow(
      `(${c.key}) ${c.name}`,
      cpuPerK(c.key, (r) => r.cpuMs ?? 0),
      cpuPerK(c.key, (r) => r.rabbitMs),
      cpuPerK(c.key, (r) => r.redisMs),
    ),
  )
if (celery) {
  const k = (v: number) => (v / celery.tasks) * 1000
  lines.push(cpuRow('(d) Celery: its client', k(celery.cpuMs ?? 0), k(celery.rabbitMs), k(celery.redisMs)))
  lines.push(cpuRow('(d) Celery: its prefork worker (all processes)', k(celery.workerMs), 0, 0))
}
lines.push(
  '',
  "(For (d) the servers' CPU is on the client row; the worker row is its own processes only.)",
  '',
)

lines.push(...profileLines(profileRoot, profiled, `hotspot's worker alone on the ${best.name}`))

const ratio = (x: Key, y: Key) => median(results.map((r) => rate(r[x]) / rate(r[y])))
const vsRaw = ratio('a', 'b')
const redisVsBull = ratio('r', 'c')
const vsCeleryNodeAmqp = ratio('a', 'e')
const vsCeleryNodeRedis = ratio('r', 'f')
const hotspotBest = Math.max(median(results.map((r) => rate(r.a))), median(results.map((r) => rate(r.r))))
const vsCelery = celery ? hotspotBest / rate(celery) : Number.NaN
const vsCeleryWorker = celeryDrain ? hotspotBest / rate(celeryDrain) : Number.NaN
const amqpCpu = totalPerK('a')
// #19: what Celery events cost a worker (throughput with them on over off, per round).
const eventsAmqp = ratio('ae', 'a')
const eventsRedis = ratio('re', 'r')
const perMinute = drainRate(best.key) * 60
const allFound =
  results.every((r) => contenders.every((c) => r[c.key].found === r[c.key].tasks)) &&
  Object.values(drains).every((runs) => runs.every((r) => r.found === r.tasks))
const verdict = (met: boolean) => (met ? 'met' : '**missed**')
lines.push(
  '## Summary (medians of per-round ratios)',
  '',
  `- Redis broker: hotspot (r) / BullMQ throughput: **${redisVsBull.toFixed(2)}×** (goal ≥ 1.3×) → ${verdict(redisVsBull >= 1.3)}`,
  `- RabbitMQ: hotspot (a) / raw amqplib throughput: **${pct(vsRaw)}** (goal ≥ 95 %) → ${verdict(vsRaw >= 0.95)}; CPU per 1 000 tasks (hotspot + RabbitMQ + Redis): **${amqpCpu.toFixed(0)} ms** (goal ≤ 387 ms, a third below 581 ms) → ${verdict(amqpCpu <= 387)}`,
  `- hotspot / celery-node throughput: RabbitMQ **${vsCeleryNodeAmqp.toFixed(1)}×**, Redis **${vsCeleryNodeRedis.toFixed(1)}×** (goal ≥ 3×) → ${verdict(vsCeleryNodeAmqp >= 3 && vsCeleryNodeRedis >= 3)}`,
  celery
    ? `- hotspot (its best broker, median round) / Celery prefork -c ${celeryConcurrency} end to end: **${vsCelery.toFixed(1)}×** (goal ≥ 10×) → ${verdict(vsCelery >= 10)}; / Celery's worker alone on a full queue: ${vsCeleryWorker.toFixed(1)}×`
    : '- Celery: not run (python3-celery missing)',
  `- one hotspot worker process, no-op tasks, its best broker (${best.name}): **${Math.round(perMinute).toLocaleString('en')} tasks per minute** (goal ≥ 1 000 000 / min, the original's "millions a minute") → ${verdict(perMinute >= 1_000_000)}`,
  `- Celery events on (task events + task-sent) / off, throughput: RabbitMQ **${pct(eventsAmqp)}**, Redis broker **${pct(eventsRedis)}**; CPU per 1 000 tasks (own process) ${cpuPerK('a', (r) => r.cpuMs ?? 0).toFixed(0)} → ${cpuPerK('ae', (r) => r.cpuMs ?? 0).toFixed(0)} ms and ${cpuPerK('r', (r) => r.cpuMs ?? 0).toFixed(0)} → ${cpuPerK('re', (r) => r.cpuMs ?? 0).toFixed(0)} ms`,
  `- every result stored: ${allFound && [celery, celeryDrain].every((c) => !c || c.found === c.tasks) ? 'yes, in every run' : '**NO** (see tables)'}`,
  '',
)
writeResult(quick ? 'tasks-quick' : 'tasks', lines.join('\n'))

redis.disconnect()
await broker.close()
await servers.stop()
process.exit(0)
