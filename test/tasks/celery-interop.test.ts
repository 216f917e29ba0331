import { type ChildProcess, execFile, spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { startTestApp, type TestApp } from '../support/app.ts'

const PYTHON = '/usr/bin/python3' // Debian's, where python3-celery lives (not a pyenv shim)
const here = path.dirname(new URL(import.meta.url).pathname)
const pythonDir = path.join(here, 'python')
const hasCelery = fs.existsSync(PYTHON) && fs.existsSync('/usr/lib/python3/dist-packages/celery')
const run = promisify(execFile)

/**
 * Real Celery 5 (Debian's python3-celery) against hotspot on one broker and one Redis, both directions.
 * CI installs python3-celery, so there these tests always run.
 */
describe.runIf(hasCelery || process.env.CI)('interop with Python Celery', () => {
  let app: TestApp
  let pyWorker: ChildProcess
  const pyQueue = `py-${Date.now()}`
  const env = {
    ...process.env,
    AMQP_URL: inject('amqpUrl'),
    REDIS_URL: inject('redisUrl'),
    PYTHONPATH: pythonDir,
  }

  beforeAll(async () => {
    app = await startTestApp()
    await app.start(['worker'])
    pyWorker = spawn(
      PYTHON,
      [
        '-m',
        'celery',
        '-A',
        'interop_app',
        'worker',
        '-Q',
        pyQueue,
        '-c',
        '1',
        '-P',
        'solo',
        '-l',
        'WARNING',
        '--without-gossip',
        '--without-mingle',
        '--without-heartbeat',
        '-n',
        `${pyQueue}@localhost`,
      ],
      { cwd: pythonDir, env, stdio: ['ignore', 'ignore', 'pipe'] },
    )
    pyWorker.stderr?.on('data', (d) => process.stderr.write(`[celery] ${d}`))
  })
  afterAll(async () => {
    pyWorker?.kill('SIGTERM')
    await new Promise((r) => pyWorker?.once('exit', r))
    await app.close()
  })

  async function pythonSends(name: string, args: unknown[], countdown?: number) {
    const argv = ['interop_client.py', name, JSON.stringify(args), app.config.tasks.defaultQueue]
    if (countdown) argv.push(String(countdown))
    const { stdout } = await run(PYTHON, argv, { cwd: pythonDir, env, timeout: 60_000 })
    return JSON.parse(stdout.trim().split('\n').pop() as string)
  }

  async function pythonCanvas(kind: string) {
    const argv = ['canvas_client.py', kind, app.config.tasks.defaultQueue, pyQueue]
    const { stdout } = await run(PYTHON, argv, { cwd: pythonDir, env, timeout: 60_000 })
    return JSON.parse(stdout.trim().split('\n').pop() as string)
  }

  it('a Python chain alternating hotspot and Python workers runs every step: (2+3)+10+100', async () => {
    expect(await pythonCanvas('chain')).toEqual({ result: 115, parent: 15 })
  })

  it('a failing hotspot step stops the chain (its later steps are stored FAILURE, as Celery does) and calls the Python errback', async () => {
    const out = await pythonCanvas('failing-chain')
    expect(out.errback_got).toBe(out.failed)
    expect(out).toMatchObject({ tail_state: 'FAILURE', tail_error: 'PermanentTaskError' })
  })

  it('an unknown task name on hotspot is recorded NotRegistered and its Python errback is called', async () => {
    const out = await pythonCanvas('unknown-step')
    expect(out).toMatchObject({ errback_got: out.failed, state: 'FAILURE', exc_type: 'NotRegistered' })
  })

  it("hotspot's producer runs a Python task and reads its result", async () => {
    const taskId = await app.tasks.producer.send('py.add', [20, 22], {}, { queue: pyQueue })
    expect(await app.tasks.results.wait(taskId, 30_000)).toEqual({ taskId, status: 'SUCCESS', result: 42 })
  })

  it('a Python failure reaches hotspot with its exception type and message', async () => {
    const taskId = await app.tasks.producer.send('py.fail', ['bad value'], {}, { queue: pyQueue })
    expect(await app.tasks.results.wait(taskId, 30_000)).toEqual({
      taskId,
      status: 'FAILURE',
      error: { type: 'ValueError', message: 'bad value' },
    })
  })

  it("Python's send_task('hotspot.add', (2, 3)) runs on hotspot's worker and get() returns 5", async () => {
    expect(await pythonSends('hotspot.add', [2, 3])).toMatchObject({ result: 5 })
  })

  it("Python's send_task('hotspot.sum', ([1, 2, 3],)) returns 6 (the built-in chord body)", async () => {
    expect(await pythonSends('hotspot.sum', [[1, 2, 3]])).toMatchObject({ result: 6 })
  })

  it("a hotspot failure is raised by Python's get() with the message", async () => {
    const out = await pythonSends('hotspot.fail', ['from hotspot'])
    expect(out.message).toBe('from hotspot')
    expect(out.error_type).toBe('PermanentTaskError')
  })

  it('a Python countdown (eta header) is held in the broker by hotspot and then run', async () => {
    const started = Date.now()
    expect(await pythonSends('hotspot.add', [40, 2], 2)).toMatchObject({ result: 42 })
    expect(Date.now() - started).toBeGreaterThanOrEqual(1900)
  })
})
