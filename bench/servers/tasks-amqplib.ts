/**
 * Contender (b) of `bench/tasks.ts`: the same work as hotspot's task system, written by hand on amqplib — the
 * floor of what Node can do with these guarantees. A confirm channel publishes persistent Celery-shaped
 * messages (same headers and JSON body) with `inFlight` unconfirmed at most; a consumer with the same prefetch
 * runs at most `concurrency` handlers, each storing a Celery result (SETEX + PUBLISH in one MULTI) before acking.
 */
import { randomUUID } from 'node:crypto'
import amqp, { type ConsumeMessage } from 'amqplib'
import { Redis } from 'ioredis'
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

const { tasks, queue } = settings
const connection = await amqp.connect(settings.amqpUrl)
const publisher = await connection.createConfirmChannel()
const consumer = await connection.createChannel()
await publisher.assertQueue(queue, { durable: true })
await consumer.prefetch(settings.prefetch)
const redis = new Redis(settings.redisUrl)

const EMBED = { callbacks: null, errbacks: null, chain: null, chord: null }

function publish(sentAt: number): Promise<string> {
  const id = randomUUID()
  const body = Buffer.from(JSON.stringify([[sentAt], {}, EMBED]))
  const headers = {
    lang: 'py',
    task: 'bench.noop',
    id,
    shadow: null,
    eta: null,
    expires: null,
    group: null,
    group_index: null,
    retries: 0,
    timelimit: [null, null],
    root_id: id,
    parent_id: null,
    argsrepr: `(${sentAt},)`,
    kwargsrepr: '{}',
    origin: 'gen@bench',
    ignore_result: false,
  }
  return new Promise((resolve, reject) => {
    publisher.sendToQueue(
      queue,
      body,
      {
        persistent: true,
        contentType: 'application/json',
        contentEncoding: 'utf-8',
        correlationId: id,
        priority: 0,
        headers,
      },
      (error) => (error ? reject(error) : resolve(id)),
    )
  })
}

const latencies: number[] = []
const ran = countdown(tasks)

async function handle(msg: ConsumeMessage) {
  const [args] = JSON.parse(msg.content.toString('utf8')) as [number[]]
  latencies.push(Date.now() - (args[0] as number))
  const id = msg.properties.headers?.id as string
  const key = `celery-task-meta-${id}`
  const json = JSON.stringify({
    status: 'SUCCESS',
    result: null,
    traceback: null,
    children: [],
    date_done: new Date().toISOString(),
    task_id: id,
  })
  await redis.multi().setex(key, 86_400, json).publish(key, json).exec()
  consumer.ack(msg)
  ran.tick()
}

// amqplib hands over every prefetched message at once: hold the ones beyond `concurrency` until a slot frees.
const waiting: ConsumeMessage[] = []
let running = 0
function run(msg: ConsumeMessage) {
  running++
  handle(msg)
    .catch((error) => {
      process.stderr.write(`[amqplib] handler failed: ${error}\n`)
      consumer.nack(msg)
    })
    .finally(() => {
      running--
      const next = waiting.shift()
      if (next) run(next)
    })
}
await consumer.consume(queue, (msg) => {
  if (!msg) return
  if (running < settings.concurrency) run(msg)
  else waiting.push(msg)
})

const cpuAtStart = process.cpuUsage()
const started = performance.now()
const ids = await publishWindowed(tasks, settings.inFlight, () => publish(Date.now()))
const published = performance.now()
await ran.done
const found = await countStored(
  redis,
  ids.map((id) => `celery-task-meta-${id}`),
  celerySucceeded,
)
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
await connection.close()
process.exit(0)
