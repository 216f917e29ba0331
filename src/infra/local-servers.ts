/**
 * Private, real servers for the embedded default (`hotspot start` with no REDIS_URL / AMQP_URL), also used by the
 * test suite (test/support/ adds PostgreSQL and clusters): a redis-server with AOF on and a RabbitMQ node with its own name, ports and data directory, so neither
 * ever touches a system-wide instance. Written by hand because no npm package starts *Debian's* binaries (the
 * ones that exist download their own builds, which these machines cannot).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import net from 'node:net'
import path from 'node:path'

export interface RunningServer {
  url: string
  pid: number
  stop(): Promise<void>
}

type Say = (line: string) => void

export class LocalServerError extends Error {
  override name = 'LocalServerError'
}

const BINARIES = {
  redis: { package: 'redis-server', paths: ['redis-server', '/usr/bin/redis-server'], urlVar: 'REDIS_URL' },
  rabbitmq: {
    package: 'rabbitmq-server',
    // The lib path skips Debian's wrapper, which would `su` to the rabbitmq user and need a chowned data dir.
    paths: ['/usr/lib/rabbitmq/bin/rabbitmq-server', 'rabbitmq-server'],
    urlVar: 'AMQP_URL',
  },
} as const

function which(candidate: string): string | undefined {
  if (candidate.includes('/')) return fs.existsSync(candidate) ? candidate : undefined
  for (const dir of (process.env.PATH ?? '').split(':')) {
    const full = path.join(dir, candidate)
    if (dir && fs.existsSync(full)) return full
  }
  return undefined
}

const isRoot = () => process.getuid?.() === 0

/** Finds a server binary; installs its Debian package when we are root with apt-get, else explains what to do. */
export function findBinary(kind: keyof typeof BINARIES, say: Say, install = true): string {
  const spec = BINARIES[kind]
  const found = spec.paths.map(which).find(Boolean)
  if (found) return found
  if (install && isRoot() && which('apt-get')) {
    say(
      `${spec.package} is not installed: installing the Debian package (apt-get install -y ${spec.package})…`,
    )
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
    execFileSync('apt-get', ['update', '-q'], { stdio: 'inherit', env })
    execFileSync('apt-get', ['install', '-y', '-q', spec.package], { stdio: 'inherit', env })
    const again = spec.paths.map(which).find(Boolean)
    if (again) return again
  }
  throw new LocalServerError(
    `${spec.package} is not installed: install it (apt-get install ${spec.package}) or set ${spec.urlVar} to an existing server`,
  )
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.unref()
    server.on('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0))
    })
  })
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer()
    server.once('error', () => resolve(false))
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)))
  })
}

/** The preferred port when it is free (stable URLs across restarts), else any free port. */
async function pickPort(preferred: number | undefined): Promise<number> {
  if (preferred !== undefined && (await portIsFree(preferred))) return preferred
  return freePort()
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

async function waitUntil(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs: number,
  child?: ChildProcess,
) {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (child && child.exitCode !== null) throw new LocalServerError(`${what} exited during start-up`)
    if (await check()) return
    await sleep(200)
  }
  throw new LocalServerError(`${what} did not become ready within ${Math.round(timeoutMs / 1000)} s`)
}

function tcpProbe(port: number, send?: string, expect?: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1')
    const done = (ok: boolean) => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(1000, () => done(false))
    socket.on('error', () => done(false))
    socket.on('connect', () => {
      if (!send) return done(true)
      socket.write(send)
    })
    socket.on('data', (data) => done(expect ? data.toString().includes(expect) : true))
  })
}

/** Sends SIGTERM (both servers shut down cleanly on it), waits, then SIGKILL as a last resort. */
export async function terminate(pid: number, timeoutMs = 20_000): Promise<void> {
  if (!isAlive(pid)) return
  process.kill(pid, 'SIGTERM')
  const deadline = Date.now() + timeoutMs
  while (isAlive(pid) && Date.now() < deadline) await sleep(100)
  if (isAlive(pid)) process.kill(pid, 'SIGKILL')
}

function spawnDetached(
  binary: string,
  args: string[],
  logFile: string,
  env?: NodeJS.ProcessEnv,
): ChildProcess {
  const out = fs.openSync(logFile, 'a')
  // Detached: Ctrl-C on hotspot must not hit the servers before hotspot has flushed and closed its connections.
  const child = spawn(binary, args, { detached: true, stdio: ['ignore', out, out], env: env ?? process.env })
  fs.closeSync(out)
  child.unref()
  return child
}

export interface RedisOptions {
  dir: string
  port?: number
  extraArgs?: string[]
  say?: Say
}

export async function startRedis(options: RedisOptions): Promise<RunningServer> {
  const say = options.say ?? (() => {})
  const binary = findBinary('redis', say)
  fs.mkdirSync(options.dir, { recursive: true })
  const port = await pickPort(options.port)
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', options.dir, '--appendonly', 'yes']
  args.push('--save', '', '--daemonize', 'no', '--protected-mode', 'no', ...(options.extraArgs ?? []))
  const child = spawnDetached(binary, args, path.join(options.dir, 'redis.log'))
  const pid = child.pid ?? 0
  await waitUntil('redis-server', () => tcpProbe(port, 'PING\r\n', 'PONG'), 15_000, child)
  return { url: `redis://127.0.0.1:${port}`, pid, stop: () => terminate(pid) }
}

export interface RabbitOptions {
  dir: string
  port?: number
  distPort?: number
  nodeName?: string
  say?: Say
}

export async function startRabbitMQ(options: RabbitOptions): Promise<RunningServer> {
  const say = options.say ?? (() => {})
  const binary = findBinary('rabbitmq', say)
  const dir = options.dir
  fs.mkdirSync(path.join(dir, 'log'), { recursive: true })
  const port = await pickPort(options.port)
  let distPort = await pickPort(options.distPort)
  if (distPort === port) distPort = await freePort()
  const hash = createHash('sha1').update(dir).digest('hex').slice(0, 8)
  const nodeName = options.nodeName ?? `hotspot-${hash}@localhost`
  const pluginsFile = path.join(dir, 'enabled_plugins')
  fs.writeFileSync(pluginsFile, '[].\n') // no plugins: start-up in ~10 s instead of ~25 s
  const pidFile = path.join(dir, 'rabbitmq.pid')
  const env = {
    ...process.env,
    HOME: dir, // the Erlang cookie lives here, not in the user's home
    RABBITMQ_MNESIA_BASE: path.join(dir, 'mnesia'),
    RABBITMQ_LOG_BASE: path.join(dir, 'log'),
    RABBITMQ_NODENAME: nodeName,
    RABBITMQ_NODE_PORT: String(port),
    RABBITMQ_DIST_PORT: String(distPort),
    RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
    RABBITMQ_ENABLED_PLUGINS_FILE: pluginsFile,
    RABBITMQ_PID_FILE: pidFile,
    RABBITMQ_CONFIG_FILE: path.join(dir, 'rabbitmq'),
    RABBITMQ_CONF_ENV_FILE: path.join(dir, 'rabbitmq-env.conf'),
  }
  const child = spawnDetached(binary, [], path.join(dir, 'startup.log'), env)
  await waitUntil('rabbitmq-server', () => tcpProbe(port), 90_000, child)
  // The VM writes its own pid (the script may fork); RabbitMQ deletes the file on shutdown, so keep it now.
  const pid = fs.existsSync(pidFile) ? Number(fs.readFileSync(pidFile, 'utf8').trim()) : (child.pid ?? 0)
  return { url: `amqp://guest:guest@127.0.0.1:${port}`, pid, stop: () => terminate(pid, 30_000) }
}

/** What a running embedded hotspot wrote down, so a crashed run's servers are found and stopped next time. */
interface StateFile {
  ownerPid: number
  redis?: { pid: number; url: string }
  rabbitmq?: { pid: number; url: string }
}

export interface PrivateServers {
  redisUrl: string | undefined
  amqpUrl: string | undefined
  /** True when another live hotspot process started them: we use them but leave stopping to it. */
  shared: boolean
  stop(): Promise<void>
}

/**
 * The embedded default: start what is not configured under `dataDir`, stable across restarts. If a live hotspot
 * already runs them (say `hotspot api` next to `hotspot worker`), reuse them; if their owner died (a crash or
 * `kill -9`), stop the leftovers and start afresh.
 */
export async function startPrivateServers(
  dataDir: string,
  want: { redis: boolean; rabbitmq: boolean },
  say: Say,
): Promise<PrivateServers> {
  const stateFile = path.join(dataDir, 'servers.json')
  fs.mkdirSync(dataDir, { recursive: true })
  const previous = readState(stateFile)
  if (previous && previous.ownerPid !== process.pid && isAlive(previous.ownerPid)) {
    say(`using the private servers of hotspot process ${previous.ownerPid}`)
    return {
      redisUrl: previous.redis?.url,
      amqpUrl: previous.rabbitmq?.url,
      shared: true,
      stop: async () => {},
    }
  }
  if (previous) {
    for (const server of [previous.redis, previous.rabbitmq]) {
      if (server && isAlive(server.pid)) {
        say(`stopping a private server left by a crashed run (pid ${server.pid})`)
        await terminate(server.pid)
      }
    }
  }
  const state: StateFile = { ownerPid: process.pid }
  if (want.rabbitmq) say('starting a private RabbitMQ node (about 10 s)…')
  const [redis, rabbitmq] = await Promise.allSettled([
    want.redis ? startRedis({ dir: path.join(dataDir, 'redis'), port: 6479, say }) : undefined,
    want.rabbitmq
      ? startRabbitMQ({ dir: path.join(dataDir, 'rabbitmq'), port: 5682, distPort: 25682, say })
      : undefined,
  ])
  const started = [redis, rabbitmq].flatMap((r) => (r.status === 'fulfilled' && r.value ? [r.value] : []))
  const failed = [redis, rabbitmq].find((r) => r.status === 'rejected')
  if (failed) {
    await Promise.all(started.map((s) => s.stop()))
    throw failed.reason
  }
  if (redis.status === 'fulfilled' && redis.value)
    state.redis = { pid: redis.value.pid, url: redis.value.url }
  if (rabbitmq.status === 'fulfilled' && rabbitmq.value) {
    state.rabbitmq = { pid: rabbitmq.value.pid, url: rabbitmq.value.url }
  }
  fs.writeFileSync(stateFile, JSON.stringify(state))
  return {
    redisUrl: state.redis?.url,
    amqpUrl: state.rabbitmq?.url,
    shared: false,
    stop: async () => {
      await Promise.all(started.map((s) => s.stop()))
      fs.rmSync(stateFile, { force: true })
    },
  }
}

/** URLs of the private servers a live hotspot process runs on this data dir, if any (for `hotspot doctor`). */
export function runningPrivateServers(dataDir: string): { redisUrl?: string; amqpUrl?: string } | undefined {
  const state = readState(path.join(dataDir, 'servers.json'))
  if (!state || !isAlive(state.ownerPid)) return undefined
  return { redisUrl: state.redis?.url, amqpUrl: state.rabbitmq?.url }
}

function readState(file: string): StateFile | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as StateFile
  } catch {
    return undefined
  }
}
