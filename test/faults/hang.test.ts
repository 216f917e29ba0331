/**
 * Hung servers: each of Redis, RabbitMQ and PostgreSQL is stopped with SIGSTOP (sockets open, nothing answers)
 * under concurrent load against a real `hotspot start` process, then resumed with SIGCONT. The servers are
 * private to this file (stopping the shared ones would stall every other test file).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { freePort, type RunningServer, startRabbitMQ, startRedis } from '../../src/infra/local-servers.ts'
import { startPostgres } from '../support/postgres.ts'

const TOKEN = 'hang-test-admin-token-0123456789'
const auth = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

interface Answer {
  kind: 'view' | 'task' | 'read'
  status: number // 0: no answer within 15 s
  ms: number
  body: Record<string, unknown> | undefined
  at: number
}

/** The server's processes: PostgreSQL answers from one backend process per connection, all children of the postmaster. */
function processesOf(pid: number): number[] {
  let children = ''
  try {
    children = execFileSync('ps', ['-o', 'pid=', '--ppid', String(pid)]).toString()
  } catch {
    // ps exits 1 when there is no child (Redis)
  }
  return [pid, ...children.trim().split(/\s+/).filter(Boolean).map(Number)]
}

function rssHighWaterMb(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8')
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024
}

function rssMb(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8')
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024
}

describe('hung servers (SIGSTOP) under load', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'hotspot-hang-'))
  const servers: Record<string, RunningServer> = {}
  let hotspot: ChildProcess
  let base = ''
  let itemId = 0
  let stderr = ''
  const figures: string[] = []

  beforeAll(async () => {
    fs.chmodSync(root, 0o755) // PostgreSQL runs as `postgres` and must reach its data dir inside
    const [redis, rabbit, postgres] = await Promise.all([
      startRedis({ dir: path.join(root, 'redis') }),
      startRabbitMQ({ dir: path.join(root, 'rabbitmq') }),
      inject('postgresUrl') ? startPostgres({ dir: path.join(root, 'postgres') }) : undefined,
    ])
    Object.assign(servers, { redis, rabbitmq: rabbit }, postgres ? { postgresql: postgres } : {})
    const port = await freePort()
    base = `http://127.0.0.1:${port}`
    hotspot = spawn(process.execPath, ['bin/hotspot.js', 'start'], {
      env: {
        ...process.env,
        REDIS_URL: redis.url,
        AMQP_URL: rabbit.url,
        DATABASE_URL: postgres?.url ?? path.join(root, 'hotspot.db'),
        PORT: String(port),
        GRPC_PORT: String(await freePort()),
        HOTSPOT_DATA_DIR: path.join(root, 'data'),
        HOTSPOT_ADMIN_TOKEN: TOKEN,
        LOG_LEVEL: 'error',
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    })
    hotspot.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString()
    })
    const deadline = Date.now() + 90_000
    while (!stderr.includes('ready on')) {
      if (hotspot.exitCode !== null || Date.now() > deadline)
        throw new Error(`hotspot did not start:\n${stderr}`)
      await sleep(100)
    }
    const created = await fetch(`${base}/api/items`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ kind: 'article', title: 'hang' }),
    })
    itemId = ((await created.json()) as { id: number }).id
  }, 180_000)

  afterAll(async () => {
    if (figures.length) process.stdout.write(`\n[hang figures]\n${figures.join('\n')}\n`)
    for (const server of Object.values(servers)) {
      for (const pid of processesOf(server.pid)) {
        try {
          process.kill(pid, 'SIGCONT')
        } catch {}
      }
    }
    hotspot?.kill('SIGTERM')
    await new Promise((r) => (hotspot?.exitCode !== null ? r(null) : hotspot.once('exit', r)))
    await Promise.all(Object.values(servers).map((s) => s.stop().catch(() => {})))
    fs.rmSync(root, { recursive: true, force: true })
  }, 90_000)

  async function request(kind: Answer['kind']): Promise<Answer> {
    const t0 = Date.now()
    const init: RequestInit =
      kind === 'view'
        ? { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }
        : kind === 'task'
          ? { method: 'POST', headers: auth, body: JSON.stringify({ name: 'hotspot.ping' }) }
          : { method: 'GET' }
    const url =
      kind === 'view' ? `/api/items/${itemId}/views` : kind === 'task' ? '/api/tasks' : `/api/items/${itemId}`
    try {
      const res = await fetch(base + url, { ...init, signal: AbortSignal.timeout(15_000) })
      const body = (await res.json().catch(() => undefined)) as Record<string, unknown> | undefined
      return { kind, status: res.status, ms: Date.now() - t0, body, at: t0 }
    } catch {
      return { kind, status: 0, ms: Date.now() - t0, body: undefined, at: t0 }
    }
  }

  /** `clients` concurrent loops until `stop()`; the answers of all of them. */
  function load(clients: number) {
    const answers: Answer[] = []
    let running = true
    const kinds: Answer['kind'][] = ['view', 'task', 'read']
    const loops = Array.from({ length: clients }, async (_, i) => {
      for (let n = i; running; n++) answers.push(await request(kinds[n % kinds.length] as Answer['kind']))
    })
    return {
      answers,
      async stop() {
        running = false
        await Promise.all(loops)
        return answers
      },
    }
  }

  async function readyz(): Promise<number> {
    try {
      return (await fetch(`${base}/readyz`, { signal: AbortSignal.timeout(6000) })).status
    } catch {
      return 0
    }
  }

  const views = async () => {
    const res = await fetch(`${base}/api/items/${itemId}`)
    return ((await res.json()) as { views: number }).views
  }

  for (const name of ['redis', 'rabbitmq', 'postgresql'] as const) {
    it(`${name} stopped for 12 s: every request answered within 10 s, 503 not 500, /readyz 503 within 5 s, recovery unaided, nothing accepted lost`, async (ctx) => {
      const server = servers[name]
      if (!server) return ctx.skip() // no PostgreSQL binaries here
      const viewsBefore = await views()
      const traffic = load(24)
      await sleep(1500)
      const pids = processesOf(server.pid)
      const stoppedAt = Date.now()
      for (const pid of pids) process.kill(pid, 'SIGSTOP')
      let rssPeak = 0
      let notReadyAfter = Number.POSITIVE_INFINITY
      try {
        while (Date.now() - stoppedAt < 12_000) {
          rssPeak = Math.max(rssPeak, rssMb(hotspot.pid as number))
          if (notReadyAfter === Number.POSITIVE_INFINITY && (await readyz()) === 503)
            notReadyAfter = Date.now() - stoppedAt
          await sleep(200)
        }
      } finally {
        for (const pid of pids) process.kill(pid, 'SIGCONT')
      }
      const resumedAt = Date.now()
      let recoveredAfter = Number.POSITIVE_INFINITY
      while (Date.now() - resumedAt < 60_000) {
        if ((await readyz()) === 200) {
          recoveredAfter = Date.now() - resumedAt
          break
        }
        await sleep(200)
      }
      await sleep(3000) // traffic goes on after the recovery
      const answers = await traffic.stop()

      const statuses = new Map<number, number>()
      for (const a of answers) statuses.set(a.status, (statuses.get(a.status) ?? 0) + 1)
      const slowest = Math.max(...answers.map((a) => a.ms))
      const during = answers.filter((a) => a.at >= stoppedAt && a.at < resumedAt)
      figures.push(
        `${name}: ${answers.length} requests (${during.length} during the hang), statuses ${JSON.stringify(Object.fromEntries(statuses))}, slowest ${slowest} ms, /readyz 503 after ${notReadyAfter} ms, ready again ${recoveredAfter} ms after SIGCONT, RSS peak ${rssPeak.toFixed(0)} MB (high-water mark ${rssHighWaterMb(hotspot.pid as number).toFixed(0)} MB)`,
      )

      expect(notReadyAfter).toBeLessThanOrEqual(5000)
      expect(recoveredAfter).toBeLessThan(60_000)
      expect(answers.filter((a) => a.ms >= 10_000 || a.status === 0)).toEqual([])
      expect([...statuses.keys()].filter((s) => s >= 500 && s !== 503)).toEqual([])
      for (const a of answers.filter((x) => x.status === 503))
        expect((a.body?.error as { code?: string } | undefined)?.code).toBe('unavailable')
      // Once ready again, the requests started 1 s later all succeed.
      const after = answers.filter((a) => a.at > resumedAt + recoveredAfter + 1000)
      expect(after.length).toBeGreaterThan(0)
      expect(after.filter((a) => a.status >= 300)).toEqual([])

      // Every accepted view is counted: accepted ≤ counted ≤ attempted (a 503 during a hang may still have
      // reached the server and be counted once it resumes).
      const viewAnswers = answers.filter((a) => a.kind === 'view')
      const accepted = viewAnswers.filter((a) => a.status === 200).length
      const counted = (await views()) - viewsBefore
      expect(counted).toBeGreaterThanOrEqual(accepted)
      expect(counted).toBeLessThanOrEqual(viewAnswers.length)
      // Every accepted task runs: SUCCESS for each id the API answered 202 to.
      const ids = answers
        .filter((a) => a.kind === 'task' && a.status === 202)
        .map((a) => a.body?.taskId as string)
      expect(ids.length).toBeGreaterThan(0)
      const deadline = Date.now() + 60_000
      let pending = ids
      while (pending.length && Date.now() < deadline) {
        const states = await Promise.all(
          pending.map(async (id) => {
            const res = await fetch(`${base}/api/tasks/${id}`, { headers: auth })
            return ((await res.json()) as { status?: string }).status
          }),
        )
        pending = pending.filter((_, i) => states[i] !== 'SUCCESS')
        if (pending.length) await sleep(500)
      }
      expect(pending).toEqual([])
    }, 180_000)
  }
})
