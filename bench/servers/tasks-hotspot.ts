/**
 * Contender (a) of `bench/tasks.ts`: hotspot's own task system, built like `hotspot worker` (createApp), in one
 * process that publishes TASKS_N no-op tasks through `producer.send` (persistent, confirmed) and runs them on
 * its worker (acks late, results in Redis like Celery's backend). TASKS_BROKER=redis runs it on the Redis
 * broker (BROKER_URL=redis://, no RabbitMQ at all); TASKS_MODE=drain fills the queue first and measures the
 * worker alone. It runs on the compiled dist/ (see below).
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { Redis } from 'ioredis'
import { nowUs } from '../lib-profile.ts'
import {
  celerySucceeded,
  countdown,
  countStored,
  cpuMsSince,
  percentile,
  publishWindowed,
  report,
  settings,
} from './tasks-support.ts'

// hotspot's code as production runs it (`hotspot worker`): compiled, from dist/ (bench/tasks.ts builds it first).
// Under tsx the sources would run through esbuild's keep-names wrappers, which the baselines' code in
// node_modules never does. The types are the sources'.
const dist = (file: string) => new URL(`../../dist/${file}`, import.meta.url).href
const { createApp } = (await import(dist('app.js'))) as typeof import('../../src/app.ts')
const { loadConfig } = (await import(dist('config.js'))) as typeof import('../../src/config.ts')
const { createLogger } = (await import(dist('infra/logger.js'))) as typeof import('../../src/infra/logger.ts')
const { resultKey } = (await import(
  dist('tasks/result-meta.js')
)) as typeof import('../../src/tasks/result-meta.ts')

const { tasks, queue } = settings
const onRedis = settings.broker === 'redis'
// The worker needs no SQL, but the app opens a database: a throwaway file of its own.
const databaseFile = path.join(os.tmpdir(), `hotspot-bench-tasks-${process.pid}.db`)
const config = loadConfig({
  ...process.env,
  WORKER_CONCURRENCY: String(settings.concurrency),
  WORKER_PREFETCH: String(settings.prefetch),
  HOTSPOT_TASK_QUEUE: queue,
  WORKER_QUEUES: queue,
  DATABASE_URL: databaseFile,
  ...(onRedis ? { BROKER_URL: settings.redisUrl } : {}),
})
const app = await createApp({
  config,
  redisUrl: settings.redisUrl,
  amqpUrl: onRedis ? undefined : settings.amqpUrl,
  adminToken: 'bench-tasks-admin-token-0123456789',
  log: createLogger('warn'),
  keyPrefix: `bench-${process.pid}`,
})
// As `hotspot worker` does: the throwaway database migrated, so no loop polls a missing table (and warns).
await app.prepare()

const latencies: number[] = []
const ran = countdown(tasks)
app.tasks.registry.register('bench.noop', async (args) => {
  latencies.push(Date.now() - (args[0] as number))
  ran.tick()
})
const send = () => app.tasks.producer.send('bench.noop', [Date.now()])
let ids: string[]
let started: number
let published: number
let cpuAtStart: NodeJS.CpuUsage
let fromUs: number
if (settings.mode === 'drain') {
  await app.tasks.broker.ensureQueue(queue)
  ids = await publishWindowed(tasks, settings.inFlight, send)
  cpuAtStart = process.cpuUsage()
  fromUs = nowUs()
  started = performance.now()
  await app.start(['worker'])
  published = started
} else {
  await app.start(['worker'])
  // Declare the queue before the clock starts, as the other contenders do.
  await app.tasks.broker.ensureQueue(queue)
  cpuAtStart = process.cpuUsage()
  fromUs = nowUs()
  started = performance.now()
  ids = await publishWindowed(tasks, settings.inFlight, send)
  published = performance.now()
}
await ran.done
const redis = new Redis(settings.redisUrl)
const found = await countStored(redis, ids.map(resultKey), celerySucceeded)
const finished = performance.now()
const toUs = nowUs()

report({
  tasks,
  seconds: (finished - started) / 1000,
  publishSeconds: (published - started) / 1000,
  // In a drain run the latency is only the time spent queued behind the backlog: not reported.
  p50: settings.mode === 'drain' ? null : percentile(latencies, 50),
  p99: settings.mode === 'drain' ? null : percentile(latencies, 99),
  found,
  cpuMs: cpuMsSince(cpuAtStart),
  windowUs: [fromUs, toUs],
})
redis.disconnect()
await app.close()
fs.rmSync(databaseFile, { force: true })
process.exit(0)
