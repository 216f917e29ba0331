import { type ChildProcess, execFile } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createRevokedStore } from '../../src/tasks/control/revoked.ts'
import { startTestApp, type TestApp } from '../support/app.ts'
import { ensureBuilt } from '../web/support.ts'
import { hasCelery, pythonEnv, spawnPythonWorker, stopPythonWorker } from './support/python-celery.ts'

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..')
const run = promisify(execFile)

/** `hotspot inspect` / `hotspot control` as real processes, against a hotspot worker and a Python worker. */
describe.runIf(hasCelery || process.env.CI)('hotspot inspect / control (CLI)', () => {
  let app: TestApp
  let pyWorker: ChildProcess
  const stamp = Date.now()
  const hs = `hs-cli-${stamp}@localhost`
  const py = `py-cli-${stamp}@localhost`
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hotspot-control-cli-'))
  // The hotspot CLI's: the shared servers, a database and data dir of its own.
  const env = pythonEnv({ DATABASE_URL: path.join(dir, 'cli.db'), HOTSPOT_DATA_DIR: dir })

  /** Runs `hotspot <argv>`; resolves with its exit code, stdout (parsed when JSON) and stderr. */
  async function hotspot(...argv: string[]) {
    try {
      const { stdout, stderr } = await run(process.execPath, ['bin/hotspot.js', ...argv], {
        cwd: root,
        env,
        timeout: 90_000,
      })
      return { code: 0, out: JSON.parse(stdout), stderr }
    } catch (error) {
      const e = error as { code?: number; stdout?: string; stderr?: string }
      return { code: e.code, out: e.stdout, stderr: e.stderr ?? '' }
    }
  }

  beforeAll(async () => {
    await ensureBuilt() // dist/ once, before the CLI runs (bin/hotspot.js would build it on first use)
    app = await startTestApp({ env: { WORKER_NAME: hs } })
    app.tasks.registry.register('test.wait', async (_a, _k, ctx) => {
      await new Promise((resolve, reject) => {
        const timer = setTimeout(resolve, 20_000)
        ctx.signal.addEventListener('abort', () => {
          clearTimeout(timer)
          reject(ctx.signal.reason)
        })
      })
      return 'finished'
    })
    await app.start(['worker'])
    pyWorker = spawnPythonWorker(`py-cli-${stamp}`, [], { name: py })
    // Wait for the Python worker's mailbox (slow to start on a loaded machine).
    for (const deadline = Date.now() + 120_000; Date.now() < deadline; ) {
      const { out } = await hotspot('inspect', 'ping', '-d', py, '-t', '2')
      if (out?.[py]) break
    }
  }, 300_000)
  afterAll(async () => {
    await stopPythonWorker(pyWorker)
    await app.close()
    fs.rmSync(dir, { recursive: true, force: true })
  })

  it('`hotspot inspect ping` gets pong from a hotspot worker and a Python worker', async () => {
    const { code, out } = await hotspot('inspect', 'ping', '-d', `${hs},${py}`, '-t', '10')
    expect(code).toBe(0)
    expect(out).toEqual({ [hs]: { ok: 'pong' }, [py]: { ok: 'pong' } })
  })

  it('`hotspot inspect registered` lists each worker’s own tasks', async () => {
    const { out } = await hotspot('inspect', 'registered', '-d', `${hs},${py}`, '-t', '10')
    expect(out[hs]).toContain('hotspot.add')
    expect(out[py]).toContain('py.add')
    expect(out[py]).not.toContain('hotspot.add')
  })

  it('`hotspot control revoke` reaches both: each flags the id (hotspot in Redis, Python in memory)', async () => {
    const id = `cli-revoke-${stamp}`
    const { out } = await hotspot('control', 'revoke', id, '-d', `${hs},${py}`, '-t', '10')
    expect(out).toEqual({
      [hs]: { ok: `tasks ${id} flagged as revoked` },
      [py]: { ok: `tasks ${id} flagged as revoked` },
    })
    expect(await app.redis.exists(createRevokedStore(app.redis, app.prefix).key(id))).toBe(1)
    expect((await hotspot('inspect', 'revoked', '-d', py, '-t', '10')).out[py]).toContain(id)
  })

  it('`hotspot control terminate SIGTERM <id>` stops a running hotspot task seen by `inspect active`', async () => {
    const taskId = await app.tasks.producer.send('test.wait', [], {}, { queue: app.config.tasks.ownQueue })
    let active: { id: string }[] = []
    for (let i = 0; i < 50 && active.length === 0; i++) {
      active = (await hotspot('inspect', 'active', '-d', hs, '-t', '10')).out[hs]
      if (active.length === 0) await new Promise((r) => setTimeout(r, 200))
    }
    expect(active.map((t) => t.id)).toEqual([taskId])
    const { out } = await hotspot('control', 'terminate', 'SIGTERM', taskId, '-d', hs, '-t', '10')
    expect(out).toEqual({ [hs]: { ok: `terminate: ${taskId}` } })
    expect((await app.tasks.results.wait(taskId, 10_000)).status).toBe('REVOKED')
  })

  it('no reply: exit 69 with Celery’s message; bad usage: exit 2 with the usage', async () => {
    const silent = await hotspot('inspect', 'ping', '-d', 'nobody@nowhere', '-t', '0.5')
    expect(silent.code).toBe(69)
    expect(silent.stderr).toContain('No nodes replied within time constraint')
    const bad = await hotspot('control', 'revoke')
    expect(bad.code).toBe(2)
    expect(bad.stderr).toContain('needs at least one task id')
    expect(bad.stderr).toContain('usage: hotspot inspect')
  })
})
