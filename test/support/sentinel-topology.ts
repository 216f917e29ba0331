/**
 * A private Sentinel deployment for tests: 1 master + 2 replicas (AOF on) watched by 3 sentinels (quorum 2), on
 * free ports and in a dir of the caller's. Built on local-servers.ts' single-server starter, as local-clusters.ts
 * builds the Redis Cluster; kept under test/ because nothing in hotspot starts a Sentinel deployment itself.
 */
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { Redis } from 'ioredis'
import { freePort, type RunningServer, startRedis, terminate } from '../../src/infra/local-servers.ts'

export const MASTER_NAME = 'hotspot'

export interface DataNode extends RunningServer {
  port: number
}

export interface SentinelTopology {
  /** What REDIS_URL takes: `redis+sentinel://127.0.0.1:p1,…/hotspot`. */
  url: string
  /** The same in Celery's spelling (`sentinel://127.0.0.1:p1;sentinel://…`), with the master name left out. */
  celeryUrl: string
  nodes: DataNode[]
  sentinels: DataNode[]
  /** The data node the sentinels currently name as master. */
  master(): Promise<DataNode>
  /** Starts a killed data node again on its port and dir: the sentinels make it a replica of the new master. */
  restart(node: DataNode): Promise<void>
  /** Resolves once every sentinel names one master other than `not` and that master has `replicas` in sync. */
  waitMaster(options: { not?: number; replicas: number; timeoutMs?: number }): Promise<DataNode>
  stop(): Promise<void>
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** One short-lived connection per question: a dead node must fail the question, not the test. */
async function ask<T>(port: number, run: (r: Redis) => Promise<T>): Promise<T> {
  const r = new Redis({
    port,
    host: '127.0.0.1',
    lazyConnect: true,
    commandTimeout: 1000,
    retryStrategy: () => null,
  })
  r.on('error', () => {})
  try {
    await r.connect()
    return await run(r)
  } finally {
    r.disconnect()
  }
}

async function startSentinel(dir: string, masterPort: number, downAfterMs: number): Promise<DataNode> {
  fs.mkdirSync(dir, { recursive: true })
  const port = await freePort()
  const conf = path.join(dir, 'sentinel.conf')
  // Sentinel rewrites its config file as it learns the topology: each needs a file of its own.
  fs.writeFileSync(
    conf,
    [
      `port ${port}`,
      'bind 127.0.0.1',
      `dir ${dir}`,
      `sentinel monitor ${MASTER_NAME} 127.0.0.1 ${masterPort} 2`,
      `sentinel down-after-milliseconds ${MASTER_NAME} ${downAfterMs}`,
      `sentinel failover-timeout ${MASTER_NAME} 10000`,
      `sentinel parallel-syncs ${MASTER_NAME} 2`,
      '',
    ].join('\n'),
  )
  const out = fs.openSync(path.join(dir, 'sentinel.log'), 'a')
  const child = spawn('redis-server', [conf, '--sentinel'], { detached: true, stdio: ['ignore', out, out] })
  fs.closeSync(out)
  child.unref()
  const pid = child.pid ?? 0
  for (let i = 0; i < 100; i++) {
    if (await ask(port, (r) => r.ping()).catch(() => false)) break
    await sleep(100)
  }
  return { url: `redis://127.0.0.1:${port}`, port, pid, stop: () => terminate(pid) }
}

export async function startSentinelTopology(options: {
  dir: string
  /** How long a silent master goes before the sentinels call it down (Redis: 30 000). */
  downAfterMs?: number
}): Promise<SentinelTopology> {
  const started: DataNode[] = []
  const stop = async () => {
    await Promise.all(started.map((s) => s.stop().catch(() => {})))
  }
  try {
    const dirs = new Map<DataNode, string>()
    const node = async (name: string, extraArgs: string[] = []) => {
      const server = await startRedis({ dir: path.join(options.dir, name), extraArgs })
      const running = { ...server, port: Number(new URL(server.url).port) }
      started.push(running)
      dirs.set(running, path.join(options.dir, name))
      return running
    }
    const first = await node('node-0')
    const nodes = [
      first,
      ...(await Promise.all(
        [1, 2].map((i) => node(`node-${i}`, ['--replicaof', '127.0.0.1', String(first.port)])),
      )),
    ]
    const sentinels: DataNode[] = []
    for (let i = 0; i < 3; i++) {
      const s = await startSentinel(
        path.join(options.dir, `sentinel-${i}`),
        first.port,
        options.downAfterMs ?? 1000,
      )
      started.push(s)
      sentinels.push(s)
    }
    const byPort = (port: number) => {
      const found = nodes.find((n) => n.port === port)
      if (!found) throw new Error(`the sentinels name an unknown master on port ${port}`)
      return found
    }
    const masterPortOf = async (sentinel: DataNode) => {
      const reply = (await ask(sentinel.port, (r) =>
        r.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', MASTER_NAME),
      )) as [string, string] | null
      return reply ? Number(reply[1]) : undefined
    }
    const topology: SentinelTopology = {
      url: `redis+sentinel://${sentinels.map((s) => `127.0.0.1:${s.port}`).join(',')}/${MASTER_NAME}`,
      celeryUrl: sentinels.map((s) => `sentinel://127.0.0.1:${s.port}`).join(';'),
      nodes,
      sentinels,
      async master() {
        for (const s of sentinels) {
          const port = await masterPortOf(s).catch(() => undefined)
          if (port) return byPort(port)
        }
        throw new Error('no sentinel answers')
      },
      async waitMaster({ not, replicas, timeoutMs = 30_000 }) {
        const deadline = Date.now() + timeoutMs
        while (Date.now() < deadline) {
          const ports = await Promise.all(sentinels.map((s) => masterPortOf(s).catch(() => undefined)))
          const port = ports[0]
          if (port && port !== not && ports.every((p) => p === port)) {
            const info = await ask(port, (r) => r.info('replication')).catch(() => '')
            const inSync = [...info.matchAll(/^slave\d+:.*state=online/gm)].length
            if (/role:master/.test(info) && inSync >= replicas) return byPort(port)
          }
          await sleep(200)
        }
        throw new Error(`no agreed master with ${replicas} replicas within ${timeoutMs} ms`)
      },
      async restart(dead) {
        const again = await startRedis({ dir: dirs.get(dead) as string, port: dead.port })
        if (Number(new URL(again.url).port) !== dead.port) {
          await again.stop()
          throw new Error(`port ${dead.port} was taken before the node came back`)
        }
        // In place: `stop` (and the callers' references) then reach the new process.
        Object.assign(dead, { pid: again.pid, stop: again.stop })
      },
      stop,
    }
    // The sentinels must know the replicas (and each other) before a fail-over can pick one.
    await topology.waitMaster({ replicas: 2 })
    const deadline = Date.now() + 20_000
    for (const s of sentinels) {
      while (Date.now() < deadline) {
        const master = (await ask(s.port, (r) => r.call('SENTINEL', 'MASTER', MASTER_NAME))) as string[]
        const field = (name: string) => Number(master[master.indexOf(name) + 1])
        if (field('num-slaves') >= 2 && field('num-other-sentinels') >= 2) break
        await sleep(200)
      }
    }
    return topology
  } catch (error) {
    await stop()
    throw error
  }
}
