/**
 * Real Python Celery 5 (Debian's python3-celery) for the interop tests: its worker (test/tasks/python/interop_app.py),
 * its scripts and its `celery` CLI, on the shared test servers or on the ones a test overrides (a private Redis
 * broker through BROKER_URL, a Sentinel result backend through REDIS_URL).
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { promisify } from 'node:util'
import { inject } from 'vitest'

export const PYTHON = '/usr/bin/python3' // Debian's, where python3-celery lives (not a pyenv shim)
export const pythonDir = path.join(path.dirname(new URL(import.meta.url).pathname), '..', 'python')
export const hasCelery = fs.existsSync(PYTHON) && fs.existsSync('/usr/lib/python3/dist-packages/celery')
const run = promisify(execFile)

/** The environment interop_app.py reads: the shared RabbitMQ and Redis, then `overrides` (e.g. BROKER_URL). */
export function pythonEnv(overrides: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    AMQP_URL: inject('amqpUrl'),
    REDIS_URL: inject('redisUrl'),
    PYTHONPATH: pythonDir,
    ...overrides,
  }
}

export interface PythonWorkerOptions {
  /** Over pythonEnv()'s variables. */
  env?: NodeJS.ProcessEnv
  /** Celery node name; default `<queue>@localhost`. */
  name?: string
  /** Send worker heartbeats (off by default: most tests do not read events). */
  heartbeat?: boolean
  /** Celery's log level; default WARNING, its stderr copied to the test's. */
  logLevel?: string
  /** false: the worker's stderr is not shown (a test that kills it on purpose). */
  showStderr?: boolean
}

/** A real Celery worker (interop_app, solo pool) consuming `queue`; `extra` are more `celery worker` flags. */
export function spawnPythonWorker(
  queue: string,
  extra: string[] = [],
  options: PythonWorkerOptions = {},
): ChildProcess {
  const flags = [
    '--without-gossip',
    '--without-mingle',
    ...(options.heartbeat ? [] : ['--without-heartbeat']),
  ]
  const worker = spawn(
    PYTHON,
    [
      ...['-m', 'celery', '-A', 'interop_app', 'worker', '-Q', queue, '-c', '1', '-P', 'solo'],
      ...['-l', options.logLevel ?? 'WARNING', ...flags, '-n', options.name ?? `${queue}@localhost`],
      ...extra,
    ],
    {
      cwd: pythonDir,
      env: pythonEnv(options.env),
      stdio: ['ignore', 'ignore', options.showStderr === false ? 'ignore' : 'pipe'],
    },
  )
  worker.stderr?.on('data', (d) => process.stderr.write(`[celery] ${d}`))
  return worker
}

export async function stopPythonWorker(worker: ChildProcess | undefined, signal: NodeJS.Signals = 'SIGTERM') {
  if (!worker || worker.exitCode !== null || worker.signalCode !== null) return
  const exited = new Promise((r) => worker.once('exit', r))
  worker.kill(signal)
  await exited
}

/** Runs a script in test/tasks/python and parses the JSON on its last line of output. */
export async function runPython<T = Record<string, unknown>>(script: string, ...argv: string[]): Promise<T> {
  return runPythonWith<T>({}, script, ...argv)
}

/** runPython with `env` over pythonEnv()'s variables. */
export async function runPythonWith<T = Record<string, unknown>>(
  env: NodeJS.ProcessEnv,
  script: string,
  ...argv: string[]
): Promise<T> {
  const { stdout } = await run(PYTHON, [script, ...argv], {
    cwd: pythonDir,
    env: pythonEnv(env),
    timeout: 60_000,
  })
  return lastJsonLine<T>(stdout)
}

/** Celery's own CLI (`celery -A interop_app <argv>`), its JSON answer parsed (pass `-j`). */
export async function celeryCli<T = Record<string, unknown>>(
  argv: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<T> {
  const { stdout } = await run(PYTHON, ['-m', 'celery', '-A', 'interop_app', ...argv], {
    cwd: pythonDir,
    env: pythonEnv(env),
    timeout: 60_000,
  })
  return lastJsonLine<T>(stdout)
}

const lastJsonLine = <T>(stdout: string) => JSON.parse(stdout.trim().split('\n').pop() as string) as T
