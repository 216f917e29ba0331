/**
 * kill -9 of the Sentinel master while views flow: the sentinels promote a replica, hotspot follows it without a
 * restart, every answer meanwhile is a 200 or a quick 503, and the views lost to asynchronous replication are
 * counted and reported (acknowledged views the new master does not have). Then the same with
 * REDIS_WAIT_REPLICAS=1, where no acknowledged view may be lost.
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { loadConfig } from '../../src/config.ts'
import { runDoctor } from '../../src/doctor/index.ts'
import { checkSentinel } from '../../src/doctor/sentinel.ts'
import { freshDatabaseUrl, startTestApp } from '../support/app.ts'
import { type DataNode, type SentinelTopology, startSentinelTopology } from '../support/sentinel-topology.ts'
import { checkViewCounts, createItems, startViewLoad, total } from '../support/view-load.ts'

const ITEMS = 8
const COMMAND_TIMEOUT_MS = 1000
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

describe('Redis Sentinel: the master killed under load', () => {
  let dir: string
  let starting: Promise<SentinelTopology> | undefined
  let topology: SentinelTopology
  let killed: DataNode | undefined

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hotspot-sentinel-failover-'))
    starting = startSentinelTopology({ dir, downAfterMs: 1000 })
    topology = await starting
  })
  afterAll(async () => {
    // Awaits a start that outlived a timed-out hook too, so no server outlives the run.
    await starting?.then((t) => t.stop()).catch(() => {})
    fs.rmSync(dir, { recursive: true, force: true })
  })

  it('hotspot doctor names the master, both replicas and a quorum of 2 among 3 sentinels', async () => {
    const master = await topology.master()
    const checks = await checkSentinel(topology.url)
    expect(checks.map((c) => [c.name, c.ok])).toEqual([
      ['sentinel master', true],
      ['sentinel quorum', true],
    ])
    expect(checks[0]?.detail).toContain(`hotspot is 127.0.0.1:${master.port}`)
    expect(checks[1]?.detail).toMatch(/^3 sentinels, quorum 2, 2 replica\(s\) online: OK/)
    // The whole doctor on a Sentinel URL: its comma-separated sentinels are not taken for a Cluster.
    const lines: string[] = []
    const env = {
      REDIS_URL: topology.url,
      AMQP_URL: inject('amqpUrl'),
      DATABASE_URL: await freshDatabaseUrl('sqlite'),
    }
    await runDoctor(loadConfig(env), (l) => lines.push(l))
    for (const name of [
      'redis persistence',
      'redis eviction',
      'redis memory',
      'sentinel master',
      'sentinel quorum',
    ])
      expect(lines.find((l) => l.includes(` ${name}: `))).toMatch(/^ok/)
  })

  /** Views from 16 clients, kill -9 of the master, on until 200 answers come back; the views lost. */
  async function failOverUnderLoad(label: string, env: Record<string, string>) {
    const app = await startTestApp({
      redisUrl: topology.url,
      env: { REDIS_COMMAND_TIMEOUT_MS: String(COMMAND_TIMEOUT_MS), REQUEST_TIMEOUT_MS: '20000', ...env },
    })
    try {
      const ids = await createItems(app, ITEMS, 'sentinel')
      const load = startViewLoad(app, ids, 16)

      await sleep(1000)
      const victim = await topology.master()
      const ackedBeforeKill = total(load.acked)
      process.kill(victim.pid, 'SIGKILL')
      killed = victim
      const killedAt = Date.now()
      const promoted = await topology.waitMaster({ not: victim.port, replicas: 1 })
      const failoverMs = Date.now() - killedAt
      // Keep going until hotspot answers 200 again on the new master: it must get there on its own.
      const okBefore = load.ok()
      while (load.ok() < okBefore + 200) await sleep(50)
      await load.stop()

      expect(promoted.port).not.toBe(victim.port)
      expect([...load.statuses.keys()].filter((s) => s !== 200 && s !== 503)).toEqual([])
      // A 503 comes from the command timeout or the refused offline queue, never from a request left hanging
      // (the request deadline is 20 s here, so it cannot mask one). The bound is loose: a loaded 2-core machine
      // stretches every answer, and this is not a speed check (they take about 1 s).
      expect(load.slowest()).toBeLessThan(COMMAND_TIMEOUT_MS * 8)

      const { lost, extra } = await checkViewCounts(app, load)
      process.stderr.write(
        `[sentinel fail-over, ${label}] promoted in ${failoverMs} ms; answers ${JSON.stringify(Object.fromEntries(load.statuses))}; ` +
          `slowest ${load.slowest()} ms; acknowledged ${total(load.acked)} (${ackedBeforeKill} before the kill), lost ${lost}, ` +
          `503s that counted ${extra}\n`,
      )
      return lost
    } finally {
      await app.close()
    }
  }

  it('promotes a replica; hotspot follows it unaided, answers 200 or a quick 503, loses a handful of views at most', async () => {
    const lost = await failOverUnderLoad('asynchronous', {})
    // Asynchronous replication: the writes of the master's last moments may be gone, a handful at most.
    expect(lost).toBeLessThanOrEqual(50)
  }, 60_000)

  it('with REDIS_WAIT_REPLICAS=1 no acknowledged view is lost', async () => {
    // The killed master comes back as a replica of the new one: two replicas again for the second kill.
    if (killed) await topology.restart(killed)
    await topology.waitMaster({ replicas: 2 })
    const lost = await failOverUnderLoad('REDIS_WAIT_REPLICAS=1', { REDIS_WAIT_REPLICAS: '1' })
    expect(lost).toBe(0)
  }, 60_000)
})
