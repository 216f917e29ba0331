/**
 * Contender (c) of `bench/tasks.ts`: BullMQ on the same Redis. Jobs are added with addBulk in chunks of
 * `inFlight` (each chunk one confirmed Redis call), a Worker with the same concurrency runs the no-op, completed
 * jobs and their return values are kept (removeOnComplete: false), and every job is checked finished at the end.
 */
import { Queue, Worker } from 'bullmq'
import { Redis } from 'ioredis'
import { countdown, cpuMsSince, percentile, report, settings } from './tasks-support.ts'

const { tasks, queue } = settings
const url = new URL(settings.redisUrl)
const connection = { host: url.hostname, port: Number(url.port), maxRetriesPerRequest: null }
const jobs = new Queue(queue, { connection })
await jobs.waitUntilReady()

const latencies: number[] = []
const ran = countdown(tasks)
const worker = new Worker(
  queue,
  async (job) => {
    latencies.push(Date.now() - (job.data as { sentAt: number }).sentAt)
    return null
  },
  { connection, concurrency: settings.concurrency },
)
// 'completed' fires once the job is moved to the completed set in Redis: the result is stored.
worker.on('completed', () => ran.tick())
await worker.waitUntilReady()

const cpuAtStart = process.cpuUsage()
const started = performance.now()
const ids: string[] = []
for (let start = 0; start < tasks; start += settings.inFlight) {
  const chunk = Array.from({ length: Math.min(settings.inFlight, tasks - start) }, () => ({
    name: 'bench.noop',
    data: { sentAt: Date.now() },
    opts: { removeOnComplete: false },
  }))
  for (const job of await jobs.addBulk(chunk)) ids.push(job.id as string)
}
const published = performance.now()
await ran.done
// Verify like the others: every job hash has its finishedOn (and return value) stored.
const redis = new Redis(settings.redisUrl)
let found = 0
for (let start = 0; start < ids.length; start += 1000) {
  const pipeline = redis.pipeline()
  for (const id of ids.slice(start, start + 1000)) pipeline.hget(`bull:${queue}:${id}`, 'finishedOn')
  for (const [error, value] of (await pipeline.exec()) ?? []) if (!error && value) found++
}
const finished = performance.now()

report({
  tasks,
  seconds: (finished - started) / 1000,
  publishSeconds: (published - started) / 1000,
  p50: percentile(latencies, 50),
  p99: percentile(latencies, 99),
  found,
  cpuMs: cpuMsSince(cpuAtStart),
})
redis.disconnect()
await worker.close()
await jobs.close()
process.exit(0)
