/**
 * Private, real *clusters* for the cluster test profile, the scale bench and anyone trying the distributed setup
 * on one machine: a Redis Cluster (masters with a replica each) and a RabbitMQ cluster (nodes sharing one Erlang
 * cookie, joined with `rabbitmqctl join_cluster`). Built from the single-server starters of local-servers.ts.
 */
import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import { promisify } from 'node:util'
import { Redis } from 'ioredis'
import {
  findBinary,
  freePort,
  LocalServerError,
  type RunningServer,
  startRabbitMQ,
  startRedis,
  terminate,
} from '../../src/infra/local-servers.ts'

const run = promisify(execFile)
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
type Say = (line: string) => void

/** Timeouts of the clients that ask nodes about the cluster: a node stopped with SIGSTOP never answers. */
const ASKING = { connectTimeout: 1000, commandTimeout: 1000 }

export interface RedisClusterNode extends RunningServer {
  port: number
  dir: string
  /** Starts this node again on its port and data dir (it rejoins the cluster from its nodes.conf). */
  restart(): Promise<void>
}

export interface RunningRedisCluster {
  /** Every node's URL, comma-separated: what REDIS_URL takes to mean Cluster. */
  url: string
  nodes: RedisClusterNode[]
  /** The nodes currently serving slots as masters (asked of a live node). */
  masters(): Promise<RedisClusterNode[]>
  /** Resolves once every slot is served, every live node agrees (`cluster_state:ok`) and replicas are in sync. */
  waitHealthy(timeoutMs?: number): Promise<void>
  stop(): Promise<void>
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer()
    server.once('error', () => resolve(false))
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)))
  })
}

/** `count` free ports below 55536 whose bus port (+10000) is free too. */
async function clusterPorts(count: number): Promise<number[]> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 30_000)
    const ports = Array.from({ length: count }, (_, i) => base + i)
    const free = await Promise.all(ports.flatMap((p) => [portIsFree(p), portIsFree(p + 10_000)]))
    if (free.every(Boolean)) return ports
  }
  throw new LocalServerError('no free ports for a Redis Cluster (each node needs P and P + 10000)')
}

export interface RedisClusterOptions {
  dir: string
  masters?: number
  replicasPerMaster?: number
  /** Milliseconds before a silent master is considered failed and its replica promoted (Redis: 15 000). */
  nodeTimeoutMs?: number
  say?: Say
}

export async function startRedisCluster(options: RedisClusterOptions): Promise<RunningRedisCluster> {
  const say = options.say ?? (() => {})
  const masters = options.masters ?? 3
  const replicas = options.replicasPerMaster ?? 1
  const ports = await clusterPorts(masters * (1 + replicas))
  const extraArgs = [
    '--cluster-enabled',
    'yes',
    '--cluster-config-file',
    'nodes.conf',
    '--cluster-node-timeout',
    String(options.nodeTimeoutMs ?? 2000),
  ]
  const nodes: RedisClusterNode[] = []
  const startNode = async (port: number) => {
    const dir = path.join(options.dir, `node-${port}`)
    const server = await startRedis({ dir, port, extraArgs, say })
    if (new URL(server.url).port !== String(port)) {
      await server.stop()
      throw new LocalServerError(`Redis Cluster node port ${port} was taken while starting`)
    }
    return server
  }
  try {
    const started = await Promise.all(ports.map(startNode))
    started.forEach((server, i) => {
      const port = ports[i] as number
      const node: RedisClusterNode = {
        ...server,
        port,
        dir: path.join(options.dir, `node-${port}`),
        stop: () => terminate(node.pid),
        async restart() {
          const again = await startNode(port)
          node.pid = again.pid
        },
      }
      nodes.push(node)
    })
    const cli = findBinary('redis', say).replace(/redis-server$/, 'redis-cli')
    await run(cli, [
      '--cluster',
      'create',
      ...ports.map((p) => `127.0.0.1:${p}`),
      '--cluster-replicas',
      String(replicas),
      '--cluster-yes',
    ])
  } catch (error) {
    await Promise.all(nodes.map((n) => n.stop().catch(() => {})))
    throw error
  }

  /** CLUSTER INFO and INFO replication of one node, as one field map; undefined when it does not answer. */
  async function clusterInfo(port: number): Promise<Record<string, string> | undefined> {
    // Bounded: a node stopped with SIGSTOP accepts the connection and never answers.
    const client = new Redis({
      port,
      host: '127.0.0.1',
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      ...ASKING,
    })
    client.on('error', () => {})
    try {
      await client.connect()
      const info = `${await client.call('CLUSTER', 'INFO')}\n${await client.info('replication')}`
      return Object.fromEntries(info.split(/\r?\n/).map((l) => l.split(':') as [string, string]))
    } catch {
      return undefined
    } finally {
      client.disconnect()
    }
  }

  const cluster: RunningRedisCluster = {
    url: ports.map((p) => `redis://127.0.0.1:${p}`).join(','),
    nodes,
    async masters() {
      for (const node of nodes) {
        const client = new Redis({
          port: node.port,
          host: '127.0.0.1',
          lazyConnect: true,
          maxRetriesPerRequest: 0,
          ...ASKING,
        })
        client.on('error', () => {})
        try {
          await client.connect()
          const lines = String(await client.call('CLUSTER', 'NODES'))
            .trim()
            .split('\n')
          const ports = lines
            .map((l) => l.split(' '))
            .filter((f) => /(^|,)master(,|$)/.test(f[2] ?? '') && !/fail/.test(f[2] ?? '') && f[8])
            .map((f) => Number(/:(\d+)@/.exec(f[1] ?? '')?.[1]))
          return nodes.filter((n) => ports.includes(n.port))
        } catch {
          // this node is down: ask the next one
        } finally {
          client.disconnect()
        }
      }
      throw new LocalServerError('no Redis Cluster node answers')
    },
    async waitHealthy(timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs
      for (;;) {
        const infos = await Promise.all(nodes.map((n) => clusterInfo(n.port)))
        const live = infos.filter((i) => i !== undefined)
        // Replicas count only once their initial sync is done: promoting a half-synced one would lose data.
        const synced = (i: Record<string, string>) =>
          i.role !== 'slave' || (i.master_link_status === 'up' && i.master_sync_in_progress === '0')
        const ok =
          live.length > 0 &&
          live.every((i) => i.cluster_state === 'ok' && i.cluster_slots_ok === '16384' && synced(i))
        if (ok) return
        if (Date.now() > deadline)
          throw new LocalServerError('the Redis Cluster did not reach cluster_state:ok')
        await sleep(200)
      }
    },
    stop: async () => {
      await Promise.all(nodes.map((n) => n.stop().catch(() => {})))
    },
  }
  await cluster.waitHealthy()
  say(`Redis Cluster of ${masters} masters + ${masters * replicas} replicas on ports ${ports.join(', ')}`)
  return cluster
}

export interface RabbitClusterNode extends RunningServer {
  nodeName: string
  dir: string
  port: number
  /** SIGTERM, a clean shutdown: the Erlang VM exits and the node's quorum queues elect leaders elsewhere. */
  stop(): Promise<void>
  /** Starts the node again on its ports and data dir; it rejoins the cluster by itself. */
  restart(): Promise<void>
}

export interface RunningRabbitCluster {
  /** Every node's URL, comma-separated: what AMQP_URL takes for fail-over. */
  url: string
  nodes: RabbitClusterNode[]
  stop(): Promise<void>
}

export interface RabbitClusterOptions {
  dir: string
  nodes?: number
  say?: Say
}

export async function startRabbitMQCluster(options: RabbitClusterOptions): Promise<RunningRabbitCluster> {
  const say = options.say ?? (() => {})
  const count = options.nodes ?? 3
  // Next to the server binary: the lib path skips Debian's wrapper, which would `su` to the rabbitmq user and
  // read that user's cookie instead of ours.
  const rabbitmqctl = path.join(path.dirname(findBinary('rabbitmq', say)), 'rabbitmqctl')
  const cookie = randomBytes(20).toString('hex').toUpperCase()
  const id = randomBytes(3).toString('hex')
  const specs = Array.from({ length: count }, (_, i) => {
    const dir = path.join(options.dir, `node-${i + 1}`)
    // Nodes authenticate one another with the Erlang cookie in $HOME, and startRabbitMQ sets HOME to the node's
    // dir: the same cookie in each dir makes them one cluster (and lets rabbitmqctl talk to any of them).
    fs.mkdirSync(dir, { recursive: true })
    const cookieFile = path.join(dir, '.erlang.cookie')
    fs.writeFileSync(cookieFile, cookie, { mode: 0o400 })
    return { dir, nodeName: `hotspot-${id}-${i + 1}@localhost` }
  })
  const ctl = (node: string, dir: string, ...args: string[]) =>
    run(rabbitmqctl, ['-n', node, ...args], { env: { ...process.env, HOME: dir }, timeout: 120_000 })

  const nodes: RabbitClusterNode[] = []
  // Ports chosen up front, so a restarted node comes back where clients look for it.
  const ports = await Promise.all(
    specs.map(async () => ({ port: await freePort(), distPort: await freePort() })),
  )
  const startNode = (i: number) => {
    const spec = specs[i] as { dir: string; nodeName: string }
    const { port, distPort } = ports[i] as { port: number; distPort: number }
    return startRabbitMQ({ dir: spec.dir, nodeName: spec.nodeName, port, distPort, say })
  }
  try {
    const started = await Promise.allSettled(specs.map((_, i) => startNode(i)))
    for (const [i, result] of started.entries()) {
      if (result.status === 'rejected') continue
      const spec = specs[i] as { dir: string; nodeName: string }
      const port = Number(new URL(result.value.url).port)
      const node: RabbitClusterNode = {
        ...result.value,
        nodeName: spec.nodeName,
        dir: spec.dir,
        port,
        stop: () => terminate(node.pid, 30_000),
        async restart() {
          const again = await startNode(i)
          if (Number(new URL(again.url).port) !== port)
            throw new LocalServerError(`RabbitMQ port ${port} was taken while restarting ${spec.nodeName}`)
          node.pid = again.pid
          await ctl(spec.nodeName, spec.dir, 'await_startup')
        },
      }
      nodes.push(node)
    }
    const failed = started.find((r) => r.status === 'rejected')
    if (failed) throw failed.reason
    const [first, ...others] = nodes as [RabbitClusterNode, ...RabbitClusterNode[]]
    for (const node of others) {
      await ctl(node.nodeName, node.dir, 'stop_app')
      await ctl(node.nodeName, node.dir, 'join_cluster', first.nodeName)
      await ctl(node.nodeName, node.dir, 'start_app')
    }
    await ctl(first.nodeName, first.dir, 'await_startup')
  } catch (error) {
    await Promise.all(nodes.map((n) => n.stop().catch(() => {})))
    throw error
  }
  say(`RabbitMQ cluster of ${count} nodes on ports ${nodes.map((n) => n.port).join(', ')}`)
  return {
    url: nodes.map((n) => n.url).join(','),
    nodes,
    stop: async () => {
      await Promise.all(nodes.map((n) => n.stop().catch(() => {})))
    },
  }
}
