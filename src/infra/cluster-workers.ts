/**
 * `hotspot api --workers N`: one primary process forks N API processes with node:cluster; they share the
 * listening port (the primary hands out connections round-robin). Everything they must agree on lives in
 * Redis/RabbitMQ/SQL, so they need nothing from one another. The primary restarts a worker that dies and, on
 * SIGTERM/SIGINT, lets every worker stop gracefully (finish requests, flush counts) before it exits itself.
 */
import cluster, { type Worker } from 'node:cluster'

type Say = (line: string) => void

export interface ClusterOptions {
  workers: number
  /** Environment for every worker (URLs of servers the primary started, the admin token). */
  env: Record<string, string>
  say: Say
  /** Runs once, after the last worker exited (stops the private servers). */
  onStopped(): Promise<void>
  /** How long the workers get to stop before they are killed. */
  stopTimeoutMs: number
}

/** Backoff for a worker that keeps dying right after start, so a broken deployment does not fork in a loop. */
const RESTART_DELAYS_MS = [0, 500, 1000, 2000, 5000]
const STABLE_AFTER_MS = 10_000

export function runWorkers(options: ClusterOptions): void {
  const { say } = options
  let stopping = false
  let quickDeaths = 0
  const startedAt = new Map<Worker, number>()

  const fork = () => {
    const worker = cluster.fork(options.env)
    startedAt.set(worker, Date.now())
  }

  cluster.on('exit', (worker, code, signal) => {
    const lived = Date.now() - (startedAt.get(worker) ?? 0)
    startedAt.delete(worker)
    if (stopping) {
      if (startedAt.size === 0) void finish()
      return
    }
    quickDeaths = lived < STABLE_AFTER_MS ? quickDeaths + 1 : 0
    const delay = RESTART_DELAYS_MS[Math.min(quickDeaths, RESTART_DELAYS_MS.length - 1)] ?? 0
    say(`API worker ${worker.process.pid} exited (${signal ?? `code ${code}`}): starting a new one`)
    setTimeout(() => {
      if (!stopping) fork()
    }, delay)
  })

  async function finish() {
    await options.onStopped()
    say('stopped')
    process.exit(0)
  }

  const stop = (reason: string) => {
    if (stopping) return
    stopping = true
    say(`${reason}: stopping ${startedAt.size} API worker(s)…`)
    if (startedAt.size === 0) return void finish()
    for (const worker of startedAt.keys()) worker.process.kill('SIGTERM')
    setTimeout(() => {
      for (const worker of startedAt.keys()) worker.process.kill('SIGKILL')
    }, options.stopTimeoutMs).unref()
  }
  process.once('SIGTERM', () => stop('SIGTERM'))
  process.once('SIGINT', () => stop('SIGINT'))

  for (let i = 0; i < options.workers; i++) fork()
  say(`primary ${process.pid}: ${options.workers} API workers`)
}

export const isClusterWorker = () => cluster.isWorker
