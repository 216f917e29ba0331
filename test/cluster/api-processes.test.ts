/**
 * `hotspot api --workers 2`: two API processes share one port. kill -9 one of them under load: the other keeps
 * answering, the primary starts a replacement, every answered view is counted, and SIGTERM stops it all.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import fs from 'node:fs'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { freePort } from '../../src/infra/local-servers.ts'
import { ADMIN_TOKEN, freshDatabaseUrl, onCluster } from '../support/app.ts'
import { loop, sleep, tempDir, until } from './support.ts'

/** The primary's children (its API workers), from the kernel. */
function workersOf(pid: number): number[] {
  try {
    const text = fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim()
    return text ? text.split(/\s+/).map(Number) : []
  } catch {
    return []
  }
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

describe.runIf(onCluster)('API processes: one of two killed', () => {
  let tmp: ReturnType<typeof tempDir> | undefined
  let primary: ChildProcess | undefined
  let url: string
  let log = ''
  const readyLines = () => log.split('\n').filter((l) => l.includes('ready on')).length
  beforeAll(async () => {
    tmp = tempDir('api-workers')
    const port = await freePort()
    url = `http://127.0.0.1:${port}`
    const prefix = `t${randomUUID().slice(0, 8)}`
    primary = spawn(process.execPath, ['bin/hotspot.js', 'api', '--workers', '2'], {
      env: {
        ...process.env,
        REDIS_URL: inject('redisUrl'),
        AMQP_URL: inject('amqpUrl'),
        AMQP_QUEUE_TYPE: 'quorum',
        DATABASE_URL: await freshDatabaseUrl('postgres'),
        CELERY_DEFAULT_QUEUE: `${prefix}.celery`,
        HOTSPOT_TASK_QUEUE: `${prefix}.hotspot`,
        HOTSPOT_ADMIN_TOKEN: ADMIN_TOKEN,
        HOTSPOT_KEY_PREFIX: prefix,
        HOTSPOT_DATA_DIR: tmp.dir,
        PORT: String(port),
        LOG_LEVEL: 'error',
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    })
    primary.stderr?.on('data', (d: Buffer) => {
      log += d.toString()
    })
    await until('both API workers listening', async () => readyLines() >= 2, 90_000)
  })
  afterAll(async () => {
    if (primary && primary.exitCode === null) {
      for (const pid of workersOf(primary.pid as number)) process.kill(pid, 'SIGKILL')
      primary.kill('SIGKILL')
    }
    tmp?.remove()
  })

  it('the other process keeps answering, a replacement starts, every answered view counts; SIGTERM stops all', async () => {
    const main = primary as ChildProcess
    const auth = { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' }
    const created = await fetch(`${url}/api/items`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ kind: 'article', title: 'two processes' }),
    })
    expect(created.status).toBe(201)
    const { id } = (await created.json()) as { id: number }
    const views = async () =>
      ((await (await fetch(`${url}/api/items/${id}`)).json()) as { views: number }).views
    const before = await views()

    const workers = workersOf(main.pid as number)
    expect(workers).toHaveLength(2)
    let ok = 0
    let failed = 0
    let okAfterKill = 0
    let killed = false
    let stopped = false
    const client = () =>
      loop(
        () => stopped,
        async () => {
          try {
            const res = await fetch(`${url}/api/items/${id}/views`, {
              method: 'POST',
              headers: { 'content-type': 'application/json' },
              body: '{}',
              // A connection the killed process held must fail, not hang the client (and the test) forever.
              signal: AbortSignal.timeout(15_000),
            })
            await res.arrayBuffer()
            if (res.status === 200) {
              ok++
              if (killed) okAfterKill++
            } else failed++
          } catch {
            failed++ // a connection of the killed process: its answer is lost
          }
        },
      )
    const load = Promise.all(Array.from({ length: 10 }, client))
    await until('views flowing', async () => ok >= 50, 30_000)
    const [victim, survivor] = workers as [number, number]
    process.kill(victim, 'SIGKILL')
    killed = true
    await until('the survivor answering', async () => okAfterKill >= 100, 30_000)
    await until(
      'a replacement worker',
      async () => workersOf(main.pid as number).filter((p) => p !== survivor && p !== victim).length === 1,
      30_000,
    )
    stopped = true
    await load

    // Requests cut off with the killed process are at most one per client; everything else was answered.
    expect(failed).toBeLessThanOrEqual(10)
    const counted = (await views()) - before
    expect(counted).toBeGreaterThanOrEqual(ok)
    expect(counted).toBeLessThanOrEqual(ok + failed) // a cut-off request may have been counted before the kill

    const replacement = workersOf(main.pid as number).find((p) => p !== survivor) as number
    await until('the replacement listening', async () => readyLines() >= 3, 90_000)
    const exited = new Promise<number | null>((resolve) => main.once('exit', (code) => resolve(code)))
    main.kill('SIGTERM')
    const code = await Promise.race([exited, sleep(60_000).then(() => 'still running 60 s after SIGTERM')])
    expect(code, log.slice(-2000)).toBe(0)
    await until('workers gone', async () => !alive(survivor) && !alive(replacement), 10_000)
    expect(log).toContain(`API worker ${victim} exited (SIGKILL)`)
  }, 240_000)
})
