/**
 * Contenders (e)(f) of `bench/tasks.ts`: celery-node (npm `celery-node`, the Node Celery client people pick
 * today), its client and worker in one process, on RabbitMQ (TASKS_BROKER=amqp) or on Redis (TASKS_BROKER=redis,
 * kombu's list layout), results in the same Redis as Celery's backend (`celery-task-meta-<id>`).
 *
 * Used as it ships: its `sendTask` returns before the broker has the message (no publisher confirms on RabbitMQ;
 * a LPUSH not awaited on Redis), its RabbitMQ worker acks on receipt, its Redis worker BRPOPs one message per
 * round trip with no ack emulation (a killed worker loses what it took), and no concurrency limit. So it does less
 * per task than the others; the bench still compares throughput end to end (every result read back).
 * Its two log lines per task (console.info) are silenced: they would measure the terminal, not the library.
 */
import { createClient, createWorker } from 'celery-node'
import { Redis } from 'ioredis'
import { resultKey } from '../../src/tasks/result-meta.ts'
import {
  celerySucceeded,
  countdown,
  countStored,
  cpuMsSince,
  percentile,
  report,
  settings,
} from './tasks-support.ts'

console.info = () => {}
const { tasks, queue } = settings
const brokerUrl = settings.broker === 'redis' ? settings.redisUrl : settings.amqpUrl
const client = createClient(brokerUrl, settings.redisUrl, queue)
const worker = createWorker(brokerUrl, settings.redisUrl, queue)

const latencies: number[] = []
const ran = countdown(tasks)
worker.register('bench.noop', (sentAt: number) => {
  latencies.push(Date.now() - sentAt)
  ran.tick()
  return null
})
await Promise.all([client.isReady(), worker.isReady()])
void worker.start()

const cpuAtStart = process.cpuUsage()
const started = performance.now()
const ids: string[] = []
for (let start = 0; start < tasks; start += settings.inFlight) {
  for (let i = start; i < Math.min(start + settings.inFlight, tasks); i++)
    ids.push(client.sendTask('bench.noop', [Date.now()]).taskId)
  // sendTask does not wait for the broker: yield a turn per window so the worker runs alongside, as the others.
  await new Promise((r) => setImmediate(r))
}
const published = performance.now()
await ran.done
const redis = new Redis(settings.redisUrl)
const found = await countStored(redis, ids.map(resultKey), celerySucceeded)
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
process.exit(0)
