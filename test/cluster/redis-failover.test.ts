/**
 * kill -9 of a Redis Cluster master while views and SMS flow: its replica takes over and nothing that was
 * acknowledged is lost (every 200 view is counted, every 202 SMS is delivered, no phone gets past its limit).
 * A Redis Cluster of its own (3 masters + 3 replicas), so killing a node never disturbs other test files.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { onCluster, startTestApp, type TestApp } from '../support/app.ts'
import { type RunningRedisCluster, startRedisCluster } from '../support/local-clusters.ts'
import { loop, sleep, tempDir, until } from './support.ts'

const ITEMS = 16 // one per bucket: the views touch every master
const PHONES = 40
const SMS_LIMIT = 5

describe.runIf(onCluster)('Redis Cluster: a master killed under load', () => {
  let tmp: ReturnType<typeof tempDir> | undefined
  let starting: Promise<RunningRedisCluster> | undefined
  let cluster: RunningRedisCluster
  let app: TestApp
  beforeAll(async () => {
    tmp = tempDir('redis-failover')
    starting = startRedisCluster({ dir: tmp.dir, nodeTimeoutMs: 1000 })
    cluster = await starting
    app = await startTestApp({
      db: 'postgres',
      redisUrl: cluster.url,
      // Every texter sends from 127.0.0.1: only the per-phone limit is under test here.
      env: {
        SMS_LIMIT_SEGMENTS: String(SMS_LIMIT),
        SMS_LIMIT_WINDOW_SECONDS: '3600',
        SMS_ADDRESS_LIMIT: '0',
      },
    })
    await app.start(['worker'])
  })
  afterAll(async () => {
    await app?.close()
    // Awaits a start that outlived a timed-out hook too, so its nodes never outlive the run.
    await starting?.then((c) => c.stop()).catch(() => {})
    tmp?.remove()
  })

  it('fails over to the replica; every acknowledged view and SMS survives, the SMS limit holds', async () => {
    const ids: number[] = []
    for (let i = 0; i < ITEMS; i++) {
      const res = await app.http.inject({
        method: 'POST',
        url: '/api/items',
        headers: app.auth,
        payload: { kind: 'article', title: `failover ${i}` },
      })
      ids.push(res.json().id)
    }
    const viewsOk = new Map<number, number>(ids.map((id) => [id, 0]))
    const viewsUnknown = new Map<number, number>()
    const smsAccepted = new Map<string, string[]>()
    const statuses = new Map<number, number>()
    const count = (status: number) => statuses.set(status, (statuses.get(status) ?? 0) + 1)
    let stopped = false

    const viewer = (c: number) =>
      loop(
        () => stopped,
        async () => {
          const id = ids[Math.floor(Math.random() * ids.length)] as number
          const res = await app.http.inject({
            method: 'POST',
            url: `/api/items/${id}/views`,
            payload: { visitorId: `v${c}` },
          })
          count(res.statusCode)
          if (res.statusCode === 200) viewsOk.set(id, (viewsOk.get(id) ?? 0) + 1)
          else viewsUnknown.set(id, (viewsUnknown.get(id) ?? 0) + 1)
        },
      )
    // Each phone asks for more than its limit, slowly, so its requests span the failover.
    const texter = async (p: number) => {
      const phone = `1391${String(p).padStart(3, '0')}${String(Date.now() % 10_000).padStart(4, '0')}`
      for (let i = 0; i < SMS_LIMIT + 3 && !stopped; i++) {
        const res = await app.http.inject({
          method: 'POST',
          url: '/api/sms',
          payload: { phone, content: `message ${i}` },
        })
        count(res.statusCode)
        if (res.statusCode === 202) smsAccepted.set(phone, [...(smsAccepted.get(phone) ?? []), res.json().id])
        await sleep(400)
      }
    }
    const load = Promise.all([
      ...Array.from({ length: 20 }, (_, c) => viewer(c)),
      ...Array.from({ length: PHONES }, (_, p) => texter(p)),
    ])

    await sleep(1000)
    const [victim] = await cluster.masters()
    if (!victim) throw new Error('no master found')
    process.kill(victim.pid, 'SIGKILL')
    const killedAt = Date.now()
    // Redis notices after the node timeout (1 s), then the replica wins an election.
    await sleep(1500)
    await cluster.waitHealthy(30_000)
    const failoverMs = Date.now() - killedAt
    await sleep(1000) // keep going on the new master
    stopped = true
    await load

    expect((await cluster.masters()).map((m) => m.port)).not.toContain(victim.port)
    // Only 200/202 (done), 429 (SMS limit) and 503 (Redis unreachable during the fail-over): never a 500.
    expect([...statuses.keys()].filter((s) => ![200, 202, 429, 503].includes(s))).toEqual([])
    expect(statuses.get(200) ?? 0).toBeGreaterThan(0)

    for (const id of ids) {
      const item = (await app.http.inject({ method: 'GET', url: `/api/items/${id}` })).json()
      // Every acknowledged view survives. A view answered 503 has an unknown outcome: the master may have applied
      // it (and replicated it) just before it died, so it may count too — never more than those.
      const acked = viewsOk.get(id) ?? 0
      const bound = {
        id,
        atLeastAcked: item.views >= acked,
        atMostAckedPlus503: item.views <= acked + (viewsUnknown.get(id) ?? 0),
      }
      expect(bound).toEqual({ id, atLeastAcked: true, atMostAckedPlus503: true })
    }
    for (const [phone, accepted] of smsAccepted) {
      expect({ phone, accepted: accepted.length <= SMS_LIMIT }).toEqual({ phone, accepted: true })
    }
    const all = [...smsAccepted.values()].flat()
    await until(
      'every accepted SMS sent',
      async () => {
        const rows = await app.db.selectFrom('sms_messages').select('status').where('id', 'in', all).execute()
        return rows.length === all.length && rows.every((r) => r.status === 'sent')
      },
      60_000,
    )
    // Delivered once each (one segment per message): the provider saw no duplicate.
    const parts = await app.db.selectFrom('sms_outbox').select('sms_id').where('sms_id', 'in', all).execute()
    expect(parts.map((p) => p.sms_id).sort()).toEqual([...all].sort())
    process.stderr.write(
      `[redis fail-over] ${failoverMs} ms; answers ${JSON.stringify(Object.fromEntries(statuses))}\n`,
    )
  }, 120_000)
})
