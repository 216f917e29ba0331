/** Shared parts of the load scripts: private servers, child-process contenders, autocannon, result files. */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import autocannon from 'autocannon'
import { freePort, type RunningServer, startRabbitMQ, startRedis } from '../src/infra/local-servers.ts'

export const say = (line: string) => process.stderr.write(`[bench] ${line}\n`)

export async function privateServers(want: { rabbitmq?: boolean } = {}) {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'hotspot-bench-'))
  const redis = await startRedis({ dir: path.join(root, 'redis') })
  const rabbit = want.rabbitmq ? await startRabbitMQ({ dir: path.join(root, 'rabbitmq') }) : undefined
  return {
    root,
    redis,
    rabbit,
    async stop() {
      await Promise.all([redis.stop(), rabbit?.stop()])
      fs.rmSync(root, { recursive: true, force: true })
    },
  }
}

export const BENCH_TOKEN = 'bench-admin-token-0123456789'

/**
 * What every HTTP bench starts with: private servers, the environment its contenders run in (SQLite in the
 * bench's temp dir, the admin token), contender processes, and a clean-up that runs whatever ends the run.
 */
export async function benchSetup(want: { rabbitmq?: boolean } = {}) {
  const servers = await privateServers(want)
  const env: Record<string, string> = {
    REDIS_URL: servers.redis.url,
    ...(servers.rabbit ? { AMQP_URL: servers.rabbit.url } : {}),
    DATABASE_URL: path.join(servers.root, 'bench.db'),
    HOTSPOT_ADMIN_TOKEN: BENCH_TOKEN,
  }
  const contenders: Contender[] = []
  const stop = async () => {
    await Promise.all(contenders.map((c) => c.stop().catch(() => {})))
    await servers.stop()
  }
  // Never leave the private servers or contenders running, whatever ends the run.
  for (const signal of ['SIGINT', 'SIGTERM'] as const)
    process.once(signal, () => stop().finally(() => process.exit(130)))
  for (const event of ['uncaughtException', 'unhandledRejection'] as const)
    process.once(event, (error) => {
      say(`failed: ${(error as Error)?.stack ?? error}`)
      stop().finally(() => process.exit(1))
    })
  return {
    servers,
    env,
    shared: { redisPid: servers.redis.pid, brokerPid: servers.rabbit?.pid },
    /** Starts a contender server (bench/servers/*.ts) in its own process, on the bench's servers. */
    async spawn(
      script: string,
      extra: Record<string, string> = {},
      options: Parameters<typeof spawnServer>[2] = {},
    ): Promise<Contender> {
      const contender = await spawnServer(script, { ...env, ...extra }, options)
      contenders.push(contender)
      return contender
    },
    /** An admin call to a hotspot contender (creating items, products), failing loudly on an error. */
    async admin<T>(contender: Contender, method: string, route: string, body: unknown): Promise<T> {
      const res = await fetch(`${contender.url}${route}`, {
        method,
        headers: { authorization: `Bearer ${BENCH_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      })
      if (res.status >= 300) throw new Error(`${method} ${route}: ${res.status} ${await res.text()}`)
      return (await res.json()) as T
    },
    stop,
  }
}

export interface Contender {
  url: string
  /** The server's process (its CPU is measured per request). */
  pid: number
  stop(): Promise<void>
}

let compiled = false
/** Compiles dist/ (scripts/build.js's ensureBuilt, a no-op when fresh) once per bench, before the first JS contender. */
export function ensureCompiled(cwd = process.cwd()) {
  if (compiled) return
  const build = "const { ensureBuilt } = await import('./scripts/build.js'); await ensureBuilt()"
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', build], { cwd, stdio: 'inherit' })
  if (result.status !== 0) throw new Error('bench: could not build dist/')
  compiled = true
}

/**
 * Runs a contender server in its own process, so the load generator never shares its event loop. A `.js` script
 * runs under plain node (hotspot's contender on the compiled dist/, as production runs it), a `.ts` one under tsx
 * (the baselines). `nodeArgs` replaces either (the CLI under a profiler: `['--cpu-prof', 'bin/hotspot.js', 'api']`).
 */
export async function spawnServer(
  script: string,
  env: Record<string, string>,
  options: { nodeArgs?: string[]; cwd?: string } = {},
): Promise<Contender> {
  const port = await freePort()
  const compiledRuntime = script.endsWith('.js')
  if (compiledRuntime && !options.nodeArgs) ensureCompiled(options.cwd)
  const nodeArgs = options.nodeArgs ?? (compiledRuntime ? [script] : ['--import', 'tsx', script])
  const child: ChildProcess = spawn(process.execPath, nodeArgs, {
    cwd: options.cwd,
    env: { ...process.env, LOG_LEVEL: 'warn', ...env, PORT: String(port) },
    stdio: ['ignore', 'inherit', 'inherit'],
  })
  const url = `http://127.0.0.1:${port}`
  const deadline = Date.now() + 30_000
  for (;;) {
    try {
      await fetch(`${url}/healthz`)
      break
    } catch {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`${script} did not start`)
      await new Promise((r) => setTimeout(r, 100))
    }
  }
  return {
    url,
    pid: child.pid as number,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve() // stopped already
        child.once('exit', () => resolve())
        child.kill('SIGTERM')
      }),
  }
}

export interface LoadResult {
  /** Answers received (any status). */
  requests: number
  requestsPerSecond: number
  p50: number
  p99: number
  ok: number
  errors: number
  /** CPU the load generator itself used (wrk only), ms. */
  loadGeneratorCpuMs?: number
}

/**
 * Throughput and latency with wrk (Debian's, a C load generator: on 2 cores autocannon itself saturates near
 * 8k req/s and would hide the difference between contenders). Falls back to autocannon when wrk is missing.
 */
export async function measure(options: {
  url: string
  method?: 'GET' | 'POST'
  body?: string
  connections?: number
  seconds?: number
  /** Each request goes to one of these paths, picked at random (wrk only), instead of the URL's own path. */
  paths?: string[]
  /**
   * A body of its own for every request (wrk only): a Lua expression, `n` is the request's number, e.g.
   * `'{"userId":"u-' .. n .. '"}'` (wrk runs one thread, so `n` is unique).
   */
  bodyLua?: string
}): Promise<LoadResult> {
  if (!fs.existsSync('/usr/bin/wrk')) {
    if (options.paths || options.bodyLua)
      throw new Error('random paths and bodies need wrk (apt-get install wrk)')
    return load(options)
  }
  const script = path.join(os.tmpdir(), `hotspot-wrk-${process.pid}.lua`)
  const body = options.body ?? ''
  fs.writeFileSync(
    script,
    [
      `wrk.method = "${options.method ?? 'GET'}"`,
      `wrk.body = ${JSON.stringify(body)}`,
      body || options.bodyLua ? 'wrk.headers["Content-Type"] = "application/json"' : '',
      options.paths ? `local paths = {${options.paths.map((p) => JSON.stringify(p)).join(',')}}` : '',
      'local n = 0',
      options.paths || options.bodyLua
        ? [
            'request = function()',
            '  n = n + 1',
            `  return wrk.format(nil, ${options.paths ? 'paths[math.random(#paths)]' : 'nil'}, nil, ${options.bodyLua ?? 'nil'})`,
            'end',
          ].join('\n')
        : '',
      'done = function(summary, latency, requests)',
      '  io.write(string.format("RESULT %d %d %d %d %d %d\\n", summary.requests, summary.errors.status,',
      '    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,',
      '    latency:percentile(50), latency:percentile(99), summary.duration))',
      'end',
    ].join('\n'),
  )
  const output = await new Promise<string>((resolve, reject) => {
    // Under `sh` so that its `times` (CPU of the shell's children) reports wrk's own CPU once wrk has exited: the
    // load generator shares the 2 cores with the contenders (`loadGeneratorCpuMs`, reported by `scale`).
    const args = [
      '-t1',
      `-c${options.connections ?? 100}`,
      `-d${options.seconds ?? 10}s`,
      '-s',
      script,
      options.url,
    ]
    const child = spawn('sh', ['-c', 'wrk "$@"; rc=$?; times; exit $rc', 'sh', ...args])
    let out = ''
    child.stdout?.on('data', (d) => {
      out += d
    })
    child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`wrk exited with ${code}`))))
  })
  const match = /RESULT (\d+) (\d+) (\d+) (\d+) (\d+) (\d+)/.exec(output)
  if (!match) throw new Error(`could not read wrk output: ${output}`)
  const [requests, statusErrors, socketErrors, p50us, p99us, durationUs] = match
    .slice(1)
    .map(Number) as number[]
  // `times` prints the shell's user/system CPU, then its children's (wrk): `0m1.230000s 0m0.450000s`.
  const children = [...output.matchAll(/(\d+)m([\d.]+)s\s+(\d+)m([\d.]+)s/g)].at(-1)
  const seconds = (m: string | undefined, s: string | undefined) => Number(m ?? 0) * 60 + Number(s ?? 0)
  const loadGeneratorCpuMs = children
    ? (seconds(children[1], children[2]) + seconds(children[3], children[4])) * 1000
    : undefined
  return {
    loadGeneratorCpuMs,
    requests: requests as number,
    requestsPerSecond: (requests as number) / ((durationUs as number) / 1e6),
    p50: (p50us as number) / 1000,
    p99: (p99us as number) / 1000,
    ok: (requests as number) - (statusErrors as number),
    errors: (statusErrors as number) + (socketErrors as number),
  }
}

/** autocannon: a fixed `amount` of requests when every answer must be accounted for (exact-count checks). */
export async function load(options: {
  url: string
  method?: 'GET' | 'POST'
  body?: string
  connections?: number
  seconds?: number
  amount?: number
}): Promise<LoadResult> {
  const result = await autocannon({
    url: options.url,
    method: options.method ?? 'GET',
    body: options.body,
    headers: options.body ? { 'content-type': 'application/json' } : undefined,
    connections: options.connections ?? 100,
    duration: options.seconds ?? 10,
    amount: options.amount,
  })
  return {
    requests: result.requests.total,
    requestsPerSecond: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    ok: result['2xx'],
    errors: result.non2xx + result.errors + result.timeouts,
  }
}

export const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2
}

export const pct = (ratio: number) => `${(ratio * 100).toFixed(0)} %`

/** Writes bench/results/<date>-<name>.md and prints it. */
export function writeResult(name: string, markdown: string): string {
  const date = new Date().toISOString().slice(0, 10)
  const file = new URL(`./results/${date}-${name}.md`, import.meta.url)
  fs.mkdirSync(new URL('./results/', import.meta.url), { recursive: true })
  fs.writeFileSync(file, markdown)
  process.stdout.write(`${markdown}\n`)
  say(`written to bench/results/${date}-${name}.md`)
  return file.pathname
}

export function machine(): string {
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU'
  return `${os.cpus().length} × ${cpu}, Node ${process.version}`
}

export type { RunningServer }
