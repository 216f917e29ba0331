import { type ChildProcess, execFile, spawn } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { startTestApp, type TestApp } from '../support/app.ts'
import { MASTER_NAME, type SentinelTopology, startSentinelTopology } from '../support/sentinel-topology.ts'

const PYTHON = '/usr/bin/python3' // Debian's, where python3-celery lives (not a pyenv shim)
const here = path.dirname(new URL(import.meta.url).pathname)
const pythonDir = path.join(here, 'python')
const hasCelery = fs.existsSync(PYTHON) && fs.existsSync('/usr/lib/python3/dist-packages/celery')
const run = promisify(execFile)

/**
 * Real Celery 5 with its Sentinel result backend (`sentinel://…;sentinel://…` + `master_name`) and hotspot with
 * `redis+sentinel://…` on one private Sentinel deployment: each side reads the results the other wrote.
 */
describe.runIf(hasCelery || process.env.CI)('interop with Python Celery through Redis Sentinel', () => {
  let dir: string
  let starting: Promise<SentinelTopology> | undefined
  let topology: SentinelTopology
  let app: TestApp
  let pyWorker: ChildProcess | undefined
  const pyQueue = `py-sentinel-${Date.now()}`
  let env: NodeJS.ProcessEnv

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hotspot-celery-sentinel-'))
    starting = startSentinelTopology({ dir })
    topology = await starting
    env = {
      ...process.env,
      AMQP_URL: inject('amqpUrl'),
      REDIS_URL: topology.celeryUrl,
      REDIS_SENTINEL_MASTER: MASTER_NAME,
      PYTHONPATH: pythonDir,
    }
    app = await startTestApp({ redisUrl: topology.url })
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
      ].concat(['--without-gossip', '--without-mingle', '--without-heartbeat', '-n', `${pyQueue}@localhost`]),
      { cwd: pythonDir, env, stdio: ['ignore', 'ignore', 'pipe'] },
    )
    pyWorker.stderr?.on('data', (d) => process.stderr.write(`[celery] ${d}`))
  })
  afterAll(async () => {
    if (pyWorker && pyWorker.exitCode === null) {
      pyWorker.kill('SIGTERM')
      await new Promise((r) => pyWorker?.once('exit', r))
    }
    await app?.close()
    await starting?.then((t) => t.stop()).catch(() => {})
    fs.rmSync(dir, { recursive: true, force: true })
  })

  it("Python's send_task('hotspot.add') runs on hotspot's worker; get() reads the result through Sentinel", async () => {
    const argv = ['interop_client.py', 'hotspot.add', '[2, 3]', app.config.tasks.defaultQueue]
    const { stdout } = await run(PYTHON, argv, { cwd: pythonDir, env, timeout: 60_000 })
    expect(JSON.parse(stdout.trim().split('\n').pop() as string)).toMatchObject({ result: 5 })
  })

  it("hotspot's producer runs a Python task and reads the result Celery's Sentinel backend stored", async () => {
    const taskId = await app.tasks.producer.send('py.add', [20, 22], {}, { queue: pyQueue })
    expect(await app.tasks.results.wait(taskId, 30_000)).toEqual({ taskId, status: 'SUCCESS', result: 42 })
  })
})
