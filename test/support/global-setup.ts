/**
 * Starts the real servers once per test run, on free ports and in a temp dir: Redis, RabbitMQ and, when its
 * binaries exist, PostgreSQL. Tests isolate themselves with key prefixes, queue names and databases of their own.
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type { TestProject } from 'vitest/node'
import { type RunningServer, startRabbitMQ, startRedis } from '../../src/infra/local-servers.ts'
import { startPostgres } from './postgres.ts'

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string
    amqpUrl: string
    postgresUrl: string | null
  }
}

const say = (line: string) => process.stderr.write(`[test servers] ${line}\n`)

export default async function setup(project: TestProject) {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'hotspot-test-'))
  fs.chmodSync(root, 0o755) // PostgreSQL runs as `postgres` and must reach its data dir inside
  const started: RunningServer[] = []
  const postgresWanted = process.env.HOTSPOT_TEST_POSTGRES !== '0'
  const t0 = Date.now()
  const [redis, rabbit, postgres] = await Promise.all([
    startRedis({ dir: path.join(root, 'redis'), say }),
    startRabbitMQ({ dir: path.join(root, 'rabbitmq'), say }),
    postgresWanted
      ? startPostgres({ dir: path.join(root, 'postgres') }).catch((error: Error) => {
          if (process.env.CI) throw error // CI installs PostgreSQL: its absence there is a failure
          say(`PostgreSQL not available, SQL tests run on SQLite only: ${error.message}`)
          return null
        })
      : null,
  ])
  started.push(redis, rabbit)
  if (postgres) started.push(postgres)
  say(`ready in ${((Date.now() - t0) / 1000).toFixed(1)} s under ${root}`)
  project.provide('redisUrl', redis.url)
  project.provide('amqpUrl', rabbit.url)
  project.provide('postgresUrl', postgres?.url ?? null)

  return async () => {
    await Promise.all(started.map((s) => s.stop().catch(() => {})))
    fs.rmSync(root, { recursive: true, force: true })
  }
}
