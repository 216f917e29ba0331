/**
 * `npm run bench -- tasks`: end-to-end throughput and latency of no-op tasks, persistent + confirmed + acked
 * late, results stored in Redis, on private RabbitMQ and Redis servers. Contenders, each in a process of its own:
 *   (a) hotspot's task system (createApp, producer.send, the worker), (b) the same by hand on amqplib,
 *   (c) BullMQ on the same Redis, (d) Python Celery 5 from Debian (prefork, concurrency 2) fed by its own client.
 * (a)(b)(c) run in alternating rounds (this machine is noisy: the summary uses medians of per-round ratios),
 * (d) once. Every round uses fresh queue names and an emptied Redis, so no round sees another's messages.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import amqp from 'amqplib'
import { Redis } from 'ioredis'
import { machine, median, pct, privateServers, say, writeResult } from './lib.ts'
import { treeCpuMs } from './lib-cpu.ts'
import type { ContenderReport } from './servers/tasks-support.ts'

const rounds = Number(process.env.BENCH_ROUNDS ?? 3)
const tasks = Number(process.env.BENCH_TASKS ?? 20_000)
// Celery's client waits for each publish confirm in turn (~100/s here): 5 000 tasks, compared per second.
const celeryTasks = Number(process.env.BENCH_CELERY_TASKS ?? Math.min(tasks, 5000))
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
}
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

/** A Node contender from bench/servers/, on a queue of its own. */
function runNode(script: string, queue: string): Promise<ContenderReport> {
  const profile = profileDir && script.includes('hotspot') ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : []
  const child = spawn(process.execPath, ['--import', 'tsx', ...profile, script], {
    env: { ...env, TASKS_QUEUE: queue },
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

const contenders = [
  { key: 'a', name: 'hotspot', script: 'bench/servers/tasks-hotspot.ts' },
  { key: 'b', name: 'raw amqplib', script: 'bench/servers/tasks-amqplib.ts' },
  { key: 'c', name: 'BullMQ', script: 'bench/servers/tasks-bullmq.ts' },
] as const
type Run = ContenderReport & { rabbitMs: number; redisMs: number }
type Round = Record<(typeof contenders)[number]['key'], Run>

const results: Round[] = []
const stamp = Date.now()
for (let round = 1; round <= rounds; round++) {
  const r = {} as Round
  for (const c of contenders) {
    const queue = `bench-${c.key}-${stamp}-${round}`
    say(`round ${round}/${rounds}: (${c.key}) ${c.name}, ${tasks} tasks`)
    r[c.key] = await withServerCpu(() => runNode(c.script, queue))
    await cleanUp(queue)
    say(`  ${(tasks / r[c.key].seconds).toFixed(0)} tasks/s, found ${r[c.key].found}`)
  }
  results.push(r)
}
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

const rate = (r: ContenderReport) => r.tasks / r.seconds
const ms = (v: number | null) => (v === null ? '—' : v.toFixed(0))
const row = (name: string, r: ContenderReport) =>
  `| ${name} | ${r.tasks} | ${rate(r).toFixed(0)} | ${(r.tasks / r.publishSeconds).toFixed(0)} | ${ms(r.p50)} | ${ms(r.p99)} | ${r.found === r.tasks ? `all ${r.found}` : `**${r.found} of ${r.tasks}**`} |`
const header = [
  '| contender | tasks | tasks/s end to end | publishes/s | send→start p50 ms | send→start p99 ms | results found |',
  '|---|---|---|---|---|---|---|',
]
const lines = [
  `# Task queue benchmark — ${new Date().toISOString()}`,
  '',
  `Machine: ${machine()}. Private RabbitMQ and Redis (AOF, everysec) started by the bench, shared by all contenders.`,
  `No-op tasks, persistent messages with publisher confirms (${inFlight} in flight), acks late, results in Redis;`,
  `Node consumers: concurrency ${concurrency}, prefetch ${prefetch}; each contender publishes and consumes in one`,
  'process of its own. End to end = first publish → last result verified stored (every result key read back).',
  'Send→start = from the publish call to the handler starting (includes queueing behind the backlog).',
  `${rounds} alternating rounds of (a)(b)(c), then (d) once. Fresh queues and an emptied Redis for every run.`,
  '',
  '- (a) hotspot: `createApp`, `tasks.producer.send` (Celery protocol v2), its worker (STARTED, then SUCCESS: 2 Redis calls).',
  '- (b) raw amqplib: confirm channel, Celery-shaped message, consumer storing SUCCESS with SETEX + PUBLISH (MULTI).',
  `- (c) BullMQ: \`addBulk\` in chunks of ${inFlight}, Worker concurrency ${concurrency}, completed jobs kept.`,
  `- (d) Celery 5 (Debian python3-celery): prefork worker \`-c ${celeryConcurrency}\`, acks late, prefetch ${prefetch}; its client \`send_task\` with confirm_publish, polling results with MGET.`,
  '',
]
for (const [i, r] of results.entries()) {
  lines.push(`## Round ${i + 1}`, '', ...header)
  for (const c of contenders) lines.push(row(`(${c.key}) ${c.name}`, r[c.key]))
  lines.push('')
}
if (celery && celeryDrain) {
  const drain = celeryDrain
  lines.push(
    '## Celery (once)',
    '',
    ...header,
    row(`(d) Celery prefork -c ${celeryConcurrency}, end to end`, celery),
    `| (d') Celery worker alone, pre-filled queue | ${drain.tasks} | ${rate(drain).toFixed(0)} | — | — | — | ${drain.found === drain.tasks ? `all ${drain.found}` : `**${drain.found} of ${drain.tasks}**`} |`,
    '',
    "(d') is the rate of the results' `date_done` stamps, first to last, with the queue filled before the worker",
    "started: Celery's worker without its client's one-confirm-at-a-time sending and without its start-up.",
    '',
  )
}

// Where the machine's CPU went: on 2 cores the broker's share decides as much as the client code's.
const perK = (cpuMs: number, n: number) => ((cpuMs / n) * 1000).toFixed(0)
const cpuRow = (name: string, r: Run, own: number) =>
  `| ${name} | ${perK(own, r.tasks)} | ${perK(r.rabbitMs, r.tasks)} | ${perK(r.redisMs, r.tasks)} | ${perK(own + r.rabbitMs + r.redisMs, r.tasks)} |`
lines.push(
  '## CPU per 1 000 tasks (ms, median over rounds for the Node contenders)',
  '',
  '| contender | its own process(es) | RabbitMQ | Redis | total |',
  '|---|---|---|---|---|',
)
for (const c of contenders) {
  const runs = results.map((r) => r[c.key])
  const mid = (f: (r: Run) => number) => median(runs.map(f))
  const typical: Run = {
    ...(runs[0] as Run),
    tasks: 1,
    rabbitMs: mid((r) => r.rabbitMs / r.tasks),
    redisMs: mid((r) => r.redisMs / r.tasks),
  }
  lines.push(
    cpuRow(
      `(${c.key}) ${c.name}`,
      typical,
      mid((r) => (r.cpuMs ?? 0) / r.tasks),
    ),
  )
}
if (celery)
  lines.push(cpuRow('(d) Celery: client + prefork worker', celery, (celery.cpuMs ?? 0) + celery.workerMs))
lines.push('')

const vsRaw = median(results.map((r) => rate(r.a) / rate(r.b)))
const vsBull = median(results.map((r) => rate(r.a) / rate(r.c)))
const hotspotRate = median(results.map((r) => rate(r.a)))
const vsCelery = celery ? hotspotRate / rate(celery) : Number.NaN
const vsCeleryWorker = celeryDrain ? hotspotRate / rate(celeryDrain) : Number.NaN
const allFound = results.every((r) => contenders.every((c) => r[c.key].found === r[c.key].tasks))
lines.push(
  '## Summary (medians of per-round ratios)',
  '',
  `- hotspot / raw amqplib throughput: **${pct(vsRaw)}** (goal ≥ 80 %) → ${vsRaw >= 0.8 ? 'met' : '**missed**'}`,
  `- hotspot / BullMQ throughput: **${vsBull.toFixed(2)}×** (goal > 1×) → ${vsBull > 1 ? 'met' : '**missed**'}`,
  celery
    ? `- hotspot (median round) / Celery prefork -c ${celeryConcurrency} end to end, tasks/s: **${vsCelery.toFixed(1)}×** (goal ≥ 3×) → ${vsCelery >= 3 ? 'met' : '**missed**'}; / Celery's worker alone on a full queue: ${vsCeleryWorker.toFixed(1)}×`
    : '- Celery: not run (python3-celery missing)',
  `- every result stored: ${allFound && [celery, celeryDrain].every((c) => !c || c.found === c.tasks) ? 'yes, in every run' : '**NO** (see tables)'}`,
  '',
)
writeResult('tasks', lines.join('\n'))

redis.disconnect()
await broker.close()
await servers.stop()
process.exit(0)
