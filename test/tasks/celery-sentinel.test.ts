import type { ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestApp, type TestApp } from '../support/app.ts'
import { MASTER_NAME, type SentinelTopology, startSentinelTopology } from '../support/sentinel-topology.ts'
import { hasCelery, runPythonWith, spawnPythonWorker, stopPythonWorker } from './support/python-celery.ts'

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
  let env: NodeJS.ProcessEnv // over pythonEnv(): Celery's Sentinel result backend

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hotspot-celery-sentinel-'))
    starting = startSentinelTopology({ dir })
    topology = await starting
    env = { REDIS_URL: topology.celeryUrl, REDIS_SENTINEL_MASTER: MASTER_NAME }
    app = await startTestApp({ redisUrl: topology.url })
    await app.start(['worker'])
    pyWorker = spawnPythonWorker(pyQueue, [], { env })
  })
  afterAll(async () => {
    await stopPythonWorker(pyWorker)
    await app?.close()
    await starting?.then((t) => t.stop()).catch(() => {})
    fs.rmSync(dir, { recursive: true, force: true })
  })

  it("Python's send_task('hotspot.add') runs on hotspot's worker; get() reads the result through Sentinel", async () => {
    const out = await runPythonWith(
      env,
      'interop_client.py',
      'hotspot.add',
      '[2, 3]',
      app.config.tasks.defaultQueue,
    )
    expect(out).toMatchObject({ result: 5 })
  })

  it("hotspot's producer runs a Python task and reads the result Celery's Sentinel backend stored", async () => {
    const taskId = await app.tasks.producer.send('py.add', [20, 22], {}, { queue: pyQueue })
    expect(await app.tasks.results.wait(taskId, 30_000)).toEqual({ taskId, status: 'SUCCESS', result: 42 })
  })
})
