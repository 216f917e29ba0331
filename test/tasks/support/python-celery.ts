import { type ChildProcess, execFile, spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { promisify } from 'node:util'
import { inject } from 'vitest'

export const PYTHON = '/usr/bin/python3' // Debian's, where python3-celery lives (not a pyenv shim)
export const pythonDir = path.join(path.dirname(new URL(import.meta.url).pathname), '..', 'python')
export const hasCelery = fs.existsSync(PYTHON) && fs.existsSync('/usr/lib/python3/dist-packages/celery')
const run = promisify(execFile)

export function pythonEnv(): NodeJS.ProcessEnv {
  return { ...process.env, AMQP_URL: inject('amqpUrl'), REDIS_URL: inject('redisUrl'), PYTHONPATH: pythonDir }
}

/** A real Celery worker (interop_app, solo pool) consuming `queue` as node `<queue>@localhost`. */
export function spawnPythonWorker(queue: string, extra: string[] = []): ChildProcess {
  const worker = spawn(
    PYTHON,
    [
      ...[
        '-m',
        'celery',
        '-A',
        'interop_app',
        'worker',
        '-Q',
        queue,
        '-c',
        '1',
        '-P',
        'solo',
        '-l',
        'WARNING',
      ],
      ...['--without-gossip', '--without-mingle', '--without-heartbeat', '-n', `${queue}@localhost`],
      ...extra,
    ],
    { cwd: pythonDir, env: pythonEnv(), stdio: ['ignore', 'ignore', 'pipe'] },
  )
  worker.stderr?.on('data', (d) => process.stderr.write(`[celery] ${d}`))
  return worker
}

export async function stopPythonWorker(worker: ChildProcess | undefined) {
  if (!worker || worker.exitCode !== null) return
  worker.kill('SIGTERM')
  await new Promise((r) => worker.once('exit', r))
}

/** Runs a script in test/tasks/python and parses the JSON on its last line of output. */
export async function runPython<T = Record<string, unknown>>(script: string, ...argv: string[]): Promise<T> {
  const { stdout } = await run(PYTHON, [script, ...argv], {
    cwd: pythonDir,
    env: pythonEnv(),
    timeout: 60_000,
  })
  return JSON.parse(stdout.trim().split('\n').pop() as string) as T
}
