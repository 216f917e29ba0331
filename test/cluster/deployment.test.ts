/**
 * A deployment of separate real processes on the cluster profile's servers: two `hotspot api` (two "machines",
 * two ports), two `hotspot worker` and two `hotspot beat`, one environment, one PostgreSQL database. Everything
 * that must be shared between processes is checked with exact results under real concurrency, every test
 * spreading its requests over both API processes.
 */
import { randomBytes, randomUUID } from 'node:crypto'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { freePort } from '../../src/infra/local-servers.ts'
import { createRedis, type RedisClient } from '../../src/infra/redis.ts'
import { ADMIN_TOKEN, freshDatabaseUrl, onCluster } from '../support/app.ts'
import {
  diagnostics,
  type HotspotProcess,
  runHotspot,
  spawnHotspot,
  stopAll,
  waitForLine,
} from './deployment-processes.ts'
import { sleep, tempDir, until } from './support.ts'

interface Answer {
  status: number
  // biome-ignore lint/suspicious/noExplicitAny: JSON answers of many routes, checked field by field
  body: any
  headers: Headers
}

async function call(
  api: string,
  method: string,
  path: string,
  body?: unknown,
  admin = false,
): Promise<Answer> {
  const headers: Record<string, string> = {}
  if (body !== undefined) headers['content-type'] = 'application/json'
  if (admin) headers.authorization = `Bearer ${ADMIN_TOKEN}`
  const res = await fetch(`${api}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  const text = await res.text()
  const json = res.headers.get('content-type')?.includes('application/json')
  return { status: res.status, body: json && text ? JSON.parse(text) : text, headers: res.headers }
}

/** `count` jobs, at most `concurrency` in flight at once. */
async function inParallel<T>(
  count: number,
  concurrency: number,
  job: (i: number) => Promise<T>,
): Promise<T[]> {
  const results: T[] = []
  let next = 0
  const runner = async () => {
    while (next < count) {
      const i = next++
      results[i] = await job(i)
    }
  }
  await Promise.all(Array.from({ length: concurrency }, runner))
  return results
}

/** One sample of a Prometheus counter from a `/metrics` text (0 when absent). */
function sample(metrics: string, name: string, labels: string): number {
  const line = metrics.split('\n').find((l) => l.startsWith(`${name}{${labels}}`))
  return line ? Number(line.split(' ').pop()) : 0
}

describe.runIf(onCluster)('a deployment: two API processes, two workers, two beats', () => {
  // Own Redis key prefix and queues: other files of the profile share these servers (and the default `hs`).
  const prefix = `d${randomUUID().slice(0, 8)}`
  const dirs: ReturnType<typeof tempDir>[] = []
  const procs: HotspotProcess[] = []
  let apis: [string, string]
  let beats: HotspotProcess[]
  let doctorEnv: Record<string, string>
  let redis: RedisClient
  let db: pg.Pool
  const killLeftovers = () => {
    for (const p of procs) if (p.alive()) p.child.kill('SIGKILL')
  }

  beforeAll(async () => {
    process.once('exit', killLeftovers) // the test process killed before afterAll: no orphan servers
    const databaseUrl = await freshDatabaseUrl('postgres')
    const env: Record<string, string> = {
      REDIS_URL: inject('redisUrl'),
      AMQP_URL: inject('amqpUrl'),
      AMQP_QUEUE_TYPE: 'quorum',
      DATABASE_URL: databaseUrl,
      DATABASE_POOL_SIZE: '4',
      HOTSPOT_KEY_PREFIX: prefix,
      CELERY_DEFAULT_QUEUE: `${prefix}.celery`,
      HOTSPOT_TASK_QUEUE: `${prefix}.hotspot`,
      HOTSPOT_ADMIN_TOKEN: ADMIN_TOKEN,
      VERIFICATION_SECRET: randomBytes(24).toString('hex'),
      // info: beat says which process leads and what it fired (request logging is off, so this stays small).
      LOG_LEVEL: 'info',
      COUNTERS_FLUSH_MS: '200',
      BANNERS_REFRESH_SECONDS: '1', // one beat tick a second to watch
      BEAT_LOCK_TTL_MS: '3000', // not the default 5 s: the setting reaches the beat processes
      SECKILL_IP_LIMIT: '0', // every test request comes from 127.0.0.1
    }
    doctorEnv = env
    const own = (name: string, extra: Record<string, string> = {}) => {
      const dir = tempDir(`deploy-${name}`)
      dirs.push(dir)
      return { ...env, HOTSPOT_DATA_DIR: dir.dir, ...extra }
    }
    await runHotspot('migrate', ['migrate'], own('migrate'), 90_000)

    const ports = [await freePort(), await freePort()]
    apis = [`http://127.0.0.1:${ports[0]}`, `http://127.0.0.1:${ports[1]}`]
    const api = ports.map((port, i) =>
      spawnHotspot(`api-${i}`, ['api'], own(`api-${i}`, { PORT: String(port) })),
    )
    const workers = [0, 1].map((i) => spawnHotspot(`worker-${i}`, ['worker'], own(`worker-${i}`)))
    beats = [0, 1].map((i) => spawnHotspot(`beat-${i}`, ['beat'], own(`beat-${i}`)))
    procs.push(...api, ...workers, ...beats)
    // Generous: another profile run may share the 2 cores; this waits for start-up, it measures nothing.
    await Promise.all([
      ...api.map((p) => waitForLine(p, 'ready on', 120_000)),
      ...workers.map((p) => waitForLine(p, 'task worker consuming', 120_000)),
      ...beats.map((p) => waitForLine(p, 'beat scheduler running', 120_000)),
    ])
    redis = createRedis(inject('redisUrl'))
    db = new pg.Pool({ connectionString: databaseUrl, max: 2 })
  }, 300_000)

  afterAll(async () => {
    await stopAll(procs)
    process.off('exit', killLeftovers)
    redis?.disconnect()
    await db?.end()
    for (const dir of dirs) dir.remove()
  }, 60_000)

  /** Fails with what the processes said, so a red run explains itself. */
  const explain = () => diagnostics(procs)

  it('`hotspot doctor` on this deployment lists all six processes, every role covered, nothing wrong', async () => {
    // Heartbeats are sent at start: every process has reported by the time it said it was ready.
    const doctor = await runHotspot('doctor', ['doctor'], { ...doctorEnv, LOG_LEVEL: 'error' }, 60_000)
    const lines = doctor.stdout.trim().split('\n')
    const processLines = lines.filter((l) => / process \S+:\d+ \(/.test(l))
    expect(processLines, doctor.stdout).toHaveLength(6)
    for (const role of ['api', 'worker', 'beat']) {
      expect(processLines.filter((l) => l.includes(`(${role})`))).toHaveLength(2)
      expect(lines.find((l) => l.includes(`role ${role}:`))).toMatch(/^ok .*2 processes running/)
    }
    expect(lines.find((l) => l.includes('redis cluster'))).toMatch(/^ok .*all 16384 slots/)
    expect(lines.at(-1), doctor.stdout).toBe('everything looks fine')
  })

  it('view counts are exact across both APIs, in SQL too, and the rankings agree', async () => {
    const [a, b] = apis
    const hot = (await call(a, 'POST', '/api/items', { kind: 'article', title: 'hot' }, true)).body
      .id as number
    const warm = (await call(b, 'POST', '/api/items', { kind: 'video', title: 'warm' }, true)).body
      .id as number
    const view = (id: number, i: number) =>
      call(apis[i % 2] as string, 'POST', `/api/items/${id}/views`, { visitorId: `v${i % 500}` })
    const [hotAnswers, warmAnswers] = await Promise.all([
      inParallel(2000, 48, (i) => view(hot, i)),
      inParallel(300, 16, (i) => view(warm, i)),
    ])
    expect(
      hotAnswers.every((r) => r.status === 200),
      explain(),
    ).toBe(true)
    expect(warmAnswers.every((r) => r.status === 200)).toBe(true)
    // Each answer counts its own view: 2 000 answers from two processes are exactly the numbers 1..2 000.
    const counted = hotAnswers.map((r) => r.body.views as number).sort((x, y) => x - y)
    expect(counted).toEqual(Array.from({ length: 2000 }, (_, i) => i + 1))

    const [onA, onB] = await Promise.all([
      call(a, 'GET', `/api/items/${hot}`),
      call(b, 'GET', `/api/items/${hot}`),
    ])
    expect(onA.body.views).toBe(2000)
    expect(onB.body.views).toBe(2000)
    expect(onB.body.uniqueVisitors).toBe(onA.body.uniqueVisitors)
    expect(Math.abs(onA.body.uniqueVisitors - 500)).toBeLessThanOrEqual(10) // HyperLogLog, under 2 %
    for (const period of ['all', 'day', 'week']) {
      const path = `/api/rankings/views?period=${period}&limit=10`
      const [ra, rb] = await Promise.all([call(a, 'GET', path), call(b, 'GET', path)])
      expect(ra.body).toEqual(rb.body)
      expect(ra.body.items.slice(0, 2)).toEqual([
        { id: hot, title: 'hot', views: 2000 },
        { id: warm, title: 'warm', views: 300 },
      ])
    }

    // Both API processes flush into one database: every view lands in SQL once.
    const inSql = async () => {
      const { rows } = await db.query<{ id: number; views: number; daily: string | null }>(
        `select i.id, i.views, (select sum(d.views) from item_views_daily d where d.item_id = i.id) as daily
           from items i where i.id = any($1) order by i.id`,
        [[hot, warm]],
      )
      return rows.map((r) => [Number(r.id), Number(r.views), Number(r.daily ?? 0)])
    }
    await until(
      'views flushed to SQL',
      async () => (await inSql()).every(([id, views]) => views === (id === hot ? 2000 : 300)),
      30_000,
    )
    // hot was created first: the lower id
    expect(await inSql()).toEqual([
      [hot, 2000, 2000],
      [warm, 300, 300],
    ])
  }, 90_000)

  it('the SMS limit is exact across processes and every admitted SMS is delivered once', async () => {
    const phone = `139${String(Math.floor(Math.random() * 1e8)).padStart(8, '0')}`
    const answers = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        call(apis[i % 2] as string, 'POST', '/api/sms', { phone, content: `deployment message ${i}` }),
      ),
    )
    const admitted = answers.filter((r) => r.status === 202)
    const refused = answers.filter((r) => r.status === 429)
    expect(admitted, explain()).toHaveLength(5) // 5 one-segment messages per phone per 60 s
    expect(refused).toHaveLength(35)
    for (const r of admitted) expect(r.body).toMatchObject({ segments: 1, status: 'queued' })
    for (const r of refused) {
      expect(r.body.error.code).toBe('rate_limited')
      expect(Number.isInteger(r.body.error.retryAfter) && r.body.error.retryAfter >= 1).toBe(true)
      expect(r.headers.get('retry-after')).toBe(String(r.body.error.retryAfter))
    }

    const ids = admitted.map((r) => r.body.id as string)
    const states = () =>
      Promise.all(
        ids.map((id, i) => call(apis[(i + 1) % 2] as string, 'GET', `/api/sms/${id}`, undefined, true)),
      )
    await until(
      'the workers deliver every admitted SMS',
      async () => {
        const all = await states()
        if (all.some((s) => s.body.status === 'failed')) throw new Error(`an SMS failed\n${explain()}`)
        return all.every((s) => s.body.status === 'sent')
      },
      60_000,
    )
    for (const s of await states()) {
      expect(s.body).toMatchObject({ status: 'sent', attempts: 1, segments: 1 })
      expect(s.body.sentAt).toEqual(expect.any(String))
    }
    const { rows } = await db.query<{ sms_id: string; part: number }>(
      'select sms_id, part from sms_outbox order by sms_id',
    )
    // The outbox is this database's provider: one delivered part per admitted SMS, nothing else.
    expect(rows.map((r) => [r.sms_id, Number(r.part)])).toEqual(ids.sort().map((id) => [id, 1]))
    const stored = await db.query('select id from sms_messages')
    expect(stored.rows).toHaveLength(5) // the refused ones left nothing behind
  }, 90_000)

  it("an admin write on one API process reaches the other's L1 at once", async () => {
    const [a, b] = apis
    const invalidations = async (api: string, source: 'local' | 'remote') =>
      sample(
        (await call(api, 'GET', '/metrics')).body as string,
        'hotspot_cache_invalidations_total',
        `cache="banners",source="${source}"`,
      )
    const titles = async (api: string) => {
      const res = await call(api, 'GET', '/api/banners')
      expect(res.status).toBe(200)
      return {
        status: res.headers.get('x-cache'),
        titles: (res.body as { title: string }[]).map((x) => x.title),
      }
    }
    const banner = { title: 'deployment', image: '/banners/rankings.svg', link: '/#rankings', order: 50 }
    const remoteAtStart = await invalidations(b, 'remote')
    const created = await call(a, 'POST', '/api/banners', banner, true)
    expect(created.status).toBe(201)
    const id = created.body.id as number
    expect((await titles(b)).titles).toContain('deployment')
    // The create's broadcast may reach B after the read above (the read is right through the generation, not
    // the broadcast); wait for it, or it would land inside round 1 and count as a second invalidation there.
    await until(
      "the create's broadcast reaches B",
      async () => (await invalidations(b, 'remote')) > remoteAtStart,
      15_000,
    )

    // Round 1: written through A, read through B; round 2 the other way.
    for (const [writer, reader, title] of [
      [a, b, 'changed through A'],
      [b, a, 'changed through B'],
    ] as const) {
      await titles(reader)
      expect((await titles(reader)).status).toBe('HIT') // the reader holds the list
      const remoteBefore = await invalidations(reader, 'remote')
      const localBefore = await invalidations(writer, 'local')
      const updated = await call(writer, 'PUT', `/api/banners/${id}`, { title }, true)
      expect(updated.status).toBe(200)
      // The contract: the very next read on any process reflects the write (no polling).
      expect((await titles(reader)).titles).toContain(title)
      // And the broadcast reached the reader's L1: exactly one remote invalidation there.
      await until(
        'the broadcast reaches the other process',
        async () => (await invalidations(reader, 'remote')) > remoteBefore,
        15_000,
      )
      expect(await invalidations(reader, 'remote')).toBe(remoteBefore + 1)
      expect(await invalidations(writer, 'local')).toBe(localBefore + 1)
      expect((await titles(reader)).titles).toContain(title)
    }

    expect((await call(b, 'DELETE', `/api/banners/${id}`, undefined, true)).status).toBe(204)
    const after = await titles(a)
    expect(after.titles).not.toContain('changed through B')
    expect(after.titles).not.toContain('deployment')
  }, 60_000)

  it('two beats: one fires each tick; after kill -9 of the leader the other takes over within the lock lifetime', async () => {
    const leaderKey = `${prefix}:beat:leader`
    const claimsBetween = async (from: number, to: number) => {
      const slots: number[] = []
      for (let slot = Math.ceil(from / 1000) * 1000; slot <= to; slot += 1000) slots.push(slot)
      const owners = await Promise.all(
        slots.map((s) => redis.get(`${prefix}:beat:fired:banners.refresh:${s}`)),
      )
      return slots.flatMap((slot, i) => (owners[i] ? [{ slot, token: owners[i] as string }] : []))
    }
    const leaders = () => beats.filter((b) => b.logged('beat is the leader').length > 0)
    await until('a beat leads', async () => leaders().length > 0, 30_000)
    expect(leaders(), explain()).toHaveLength(1)
    const [leader] = leaders() as [HotspotProcess]
    const standby = beats.find((b) => b !== leader) as HotspotProcess
    const token = await redis.get(leaderKey)
    expect(token).toEqual(expect.any(String))
    const pttl = await redis.pttl(leaderKey)
    expect(pttl > 0 && pttl <= 3000).toBe(true) // the lock's lifetime: BEAT_LOCK_TTL_MS, renewed by the leader

    const from = Date.now()
    await sleep(4000)
    const window = await claimsBetween(from, Date.now())
    expect(window.length).toBeGreaterThanOrEqual(2) // one a second; a loaded machine may delay a tick
    expect(window.length).toBeLessThanOrEqual(5)
    expect(window.every((c) => c.token === token)).toBe(true) // every tick claimed by the leader
    expect(standby.logged('beat fired')).toEqual([]) // the standby fired nothing
    // What the leader fired, the workers ran (each scheduled refresh is one task).
    const fired = leader.logged('beat fired').filter((l) => l.entry === 'banners.refresh')
    expect(fired.length).toBeGreaterThanOrEqual(window.length)
    const taskIds = fired.map((l) => l.taskId as string)
    await until(
      'the fired refreshes ran',
      async () => {
        const states = await Promise.all(
          taskIds.map((t, i) => call(apis[i % 2] as string, 'GET', `/api/tasks/${t}`)),
        )
        return states.every((s) => s.body.status === 'SUCCESS')
      },
      30_000,
    )

    const killedAt = Date.now()
    leader.child.kill('SIGKILL')
    await until('the standby leads', async () => standby.logged('beat is the leader').length > 0, 30_000)
    const tookOverMs = Date.now() - killedAt
    // The lock expires 3 s after the leader's last renewal at most; the standby tries every second. The bound
    // is generous for a loaded machine; the time itself is in the log below.
    expect(tookOverMs).toBeLessThan(15_000)
    process.stderr.write(`[deployment] beat take-over after kill -9: ${tookOverMs} ms\n`)
    const newToken = await redis.get(leaderKey)
    expect(newToken).toEqual(expect.any(String))
    expect(newToken).not.toBe(token)
    await until(
      'the new leader fires',
      async () => (await claimsBetween(killedAt, Date.now())).length >= 2,
      15_000,
    )
    // Ticks after the kill: claimed by the new leader only, one claim per tick.
    const after = await claimsBetween(killedAt + 1, Date.now())
    expect(after.every((c) => c.token === newToken)).toBe(true)
    expect(leader.alive()).toBe(false)
  }, 90_000)

  it('the flash sale never oversells across processes: exactly N orders, one per user', async () => {
    const [a, b] = apis
    const stock = 40
    const product = await call(a, 'POST', '/api/products', { name: 'deployment sale', stock }, true)
    expect(product.status).toBe(201)
    const id = product.body.id as number
    // 200 users, each trying twice at once: once through each API process.
    const users = Array.from({ length: 200 }, (_, i) => `user-${i}`)
    const attempts = users.flatMap((userId) => [
      { userId, api: a },
      { userId, api: b },
    ])
    const answers = await Promise.all(
      attempts.map((t) => call(t.api, 'POST', `/api/seckill/${id}`, { userId: t.userId })),
    )
    const admitted = answers.flatMap((r, i) =>
      r.status === 202 ? [{ userId: attempts[i]?.userId, taskId: r.body.taskId as string }] : [],
    )
    expect(admitted, explain()).toHaveLength(stock)
    expect(new Set(admitted.map((x) => x.userId)).size).toBe(stock) // never two for one user
    for (const r of answers.filter((x) => x.status !== 202)) {
      expect(r.status).toBe(409)
      expect(['sold_out', 'already_purchased']).toContain(r.body.error.code)
    }

    // The order tasks, polled through either process.
    await until(
      'the workers create every order',
      async () => {
        const states = await Promise.all(
          admitted.map((x, i) => call(apis[i % 2] as string, 'GET', `/api/tasks/${x.taskId}`)),
        )
        if (states.some((s) => s.body.status === 'FAILURE'))
          throw new Error(`an order task failed\n${explain()}`)
        return states.every((s) => s.body.status === 'SUCCESS')
      },
      60_000,
    )
    const { rows } = await db.query<{ user_id: string }>('select user_id from orders where product_id = $1', [
      id,
    ])
    expect(rows.map((r) => r.user_id).sort()).toEqual(admitted.map((x) => x.userId).sort())
    for (const api of apis) {
      const seen = await call(api, 'GET', `/api/products/${id}`)
      expect(seen.body).toMatchObject({ stock, remaining: 0 })
      const listed = await call(api, 'GET', `/api/orders?productId=${id}`, undefined, true)
      expect(listed.body.orders).toHaveLength(stock)
    }
  }, 90_000)

  it('live counts of views posted to API A reach a browser stream on API B', async () => {
    const [a, b] = apis
    const id = (await call(a, 'POST', '/api/items', { kind: 'article', title: 'live' }, true)).body
      .id as number
    const controller = new AbortController()
    const stream = await fetch(`${b}/api/events`, { signal: controller.signal })
    expect(stream.status).toBe(200)
    const seen: number[] = []
    let text = ''
    let connected = false
    const reading = (async () => {
      const decoder = new TextDecoder()
      for await (const chunk of stream.body as unknown as AsyncIterable<Uint8Array>) {
        text += decoder.decode(chunk, { stream: true })
        if (text.includes(': connected')) connected = true
        let end = text.indexOf('\n\n')
        while (end !== -1) {
          const event = text.slice(0, end)
          text = text.slice(end + 2)
          const data = /^event: views\ndata: (.*)$/m.exec(event)?.[1]
          if (data) {
            for (const item of (JSON.parse(data) as { items: { id: number; views: number }[] }).items)
              if (item.id === id) seen.push(item.views)
          }
          end = text.indexOf('\n\n')
        }
      }
    })().catch((error: unknown) => {
      if (!controller.signal.aborted) throw error
    })
    try {
      await until('the stream is open', async () => connected, 10_000)
      const answers = await Promise.all(
        Array.from({ length: 30 }, () => call(a, 'POST', `/api/items/${id}/views`, {})),
      )
      expect(answers.every((r) => r.status === 200)).toBe(true)
      await until('B streams the final count', async () => seen.includes(30), 20_000)
      // Aggregated (a few events a second), in order, ending on the exact count.
      expect(seen.length).toBeLessThanOrEqual(30)
      expect([...seen].sort((x, y) => x - y)).toEqual(seen)
      expect(seen.every((v) => v >= 1 && v <= 30)).toBe(true)
    } finally {
      controller.abort()
      await reading
    }
  }, 60_000)

  it('no process logged a warning or an error (a healthy deployment runs quietly)', () => {
    const complaints = procs.flatMap((p) =>
      p.stdout
        .split('\n')
        .filter((line) => /"level":(40|50|60)\b/.test(line))
        .map((line) => `${p.name}: ${line.slice(0, 600)}`),
    )
    expect(complaints).toEqual([])
  })
})
