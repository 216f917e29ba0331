/**
 * The cluster profile's servers (`npm run test:cluster`): a Redis Cluster of 3 masters with a replica each, a
 * 3-node RabbitMQ cluster and PostgreSQL, all private, on free ports and in a temp dir. Provides the same keys as
 * global-setup.ts (comma-separated URLs, which hotspot reads as "cluster") plus `cluster: true`, so the feature
 * tests run unchanged against the distributed engines; test apps then declare their queues as quorum queues.
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type { TestProject } from 'vitest/node'
import { startRabbitMQCluster, startRedisCluster } from './local-clusters.ts'
import { startPostgres } from './postgres.ts'

declare module 'vitest' {
  export interface ProvidedContext {
    /** True in the cluster profile: Redis Cluster, RabbitMQ cluster (quorum queues), PostgreSQL. */
    cluster: boolean
  }
}

const say = (line: string) => process.stderr.write(`[cluster servers] ${line}\n`)

export default async function setup(project: TestProject) {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'hotspot-cluster-'))
  fs.chmodSync(root, 0o755) // PostgreSQL runs as `postgres` and must reach its data dir inside
  const t0 = Date.now()
  const results = await Promise.allSettled([
    startRedisCluster({ dir: path.join(root, 'redis'), say }),
    startRabbitMQCluster({ dir: path.join(root, 'rabbitmq'), say }),
    startPostgres({ dir: path.join(root, 'postgres') }),
  ])
  const stopAll = async () => {
    // Every server that did start is stopped, whichever failed: a failed run leaves no process behind.
    await Promise.all(
      results.map((r) => (r.status === 'fulfilled' ? r.value.stop().catch(() => {}) : undefined)),
    )
    fs.rmSync(root, { recursive: true, force: true })
  }
  const [redis, rabbit, postgres] = results
  if (redis.status === 'rejected' || rabbit.status === 'rejected' || postgres.status === 'rejected') {
    await stopAll()
    const failed = results.find((r) => r.status === 'rejected') as PromiseRejectedResult
    throw failed.reason
  }
  // Vitest killed before its teardown (a second Ctrl-C): the servers are detached, so kill them on the way out.
  const pids = () => [...redis.value.nodes, ...rabbit.value.nodes, postgres.value].map((s) => s.pid)
  const killLeftovers = () => {
    for (const pid of pids()) {
      try {
        process.kill(pid, 'SIGKILL')
      } catch {
        // already gone
      }
    }
  }
  process.once('exit', killLeftovers)
  say(`ready in ${((Date.now() - t0) / 1000).toFixed(1)} s under ${root}`)
  project.provide('redisUrl', redis.value.url)
  project.provide('amqpUrl', rabbit.value.url)
  project.provide('postgresUrl', postgres.value.url)
  project.provide('cluster', true)
  return async () => {
    await stopAll()
    process.off('exit', killLeftovers)
  }
}
