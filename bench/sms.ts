/**
 * `npm run bench -- sms`: SMS delivered per second, POST /api/sms → task queue → worker → gateway, through
 * (a) the outbox (SQL only: the baseline), (b) an HTTP gateway (the strict ihuyi stand-in of the tests) and
 * (c) SMPP (one bound transceiver to the tests' SMSC stand-in; the window of outstanding submit_sm is the
 * worker's concurrency). hotspot (API and worker) runs in this process, the gateways in one of their own; CPU per
 * message is hotspot's own, then Redis, RabbitMQ and the gateway process. BENCH_SMS messages per contender
 * (default 2000), WORKER_CONCURRENCY (default 16) the window.
 */
import { randomUUID } from 'node:crypto'
import path from 'node:path'
import { createApp } from '../src/app.ts'
import { loadConfig } from '../src/config.ts'
import { createLogger } from '../src/infra/logger.ts'
import { BENCH_TOKEN, benchSetup, machine, say, writeResult } from './lib.ts'
import { treeCpuMs } from './lib-cpu.ts'

const count = Number(process.env.BENCH_SMS ?? 2000)
const window = Number(process.env.WORKER_CONCURRENCY ?? 16)
const bench = await benchSetup({ rabbitmq: true })
const gateways = await bench.spawn('bench/servers/sms-gateways.ts')
const where = (await (await fetch(`${gateways.url}/info`)).json()) as { ihuyiUrl: string; smppPort: number }

const contenders: { name: string; env: Record<string, string> }[] = [
  { name: '(a) outbox (SQL, no gateway)', env: { SMS_PROVIDER: 'outbox' } },
  {
    name: '(b) HTTP gateway (ihuyi stand-in)',
    env: {
      SMS_PROVIDER: 'ihuyi',
      IHUYI_ACCOUNT: 'C1',
      IHUYI_PASSWORD: 'bench-apikey-0123456789',
      IHUYI_URL: where.ihuyiUrl,
    },
  },
  {
    name: '(c) SMPP (one bind, SMSC stand-in)',
    env: { SMS_PROVIDER: 'smpp', SMPP_URL: `smpp://hotspot:secret12@127.0.0.1:${where.smppPort}` },
  },
]

interface Result {
  name: string
  perSecond: number
  hotspotMs: number
  redisMs: number
  brokerMs: number
  gatewayMs: number
  sent: number
}

async function run(contender: (typeof contenders)[number]): Promise<Result> {
  const prefix = `b${randomUUID().slice(0, 8)}`
  const config = loadConfig({
    ...bench.env,
    DATABASE_URL: path.join(bench.servers.root, `${prefix}.db`),
    CELERY_DEFAULT_QUEUE: `${prefix}.celery`,
    HOTSPOT_TASK_QUEUE: `${prefix}.hotspot`,
    SMS_ADDRESS_LIMIT: '0',
    SMS_GLOBAL_LIMIT: '0',
    WORKER_CONCURRENCY: String(window),
    LOG_LEVEL: 'warn',
    ...contender.env,
  })
  const app = await createApp({
    config,
    redisUrl: bench.servers.redis.url,
    amqpUrl: bench.servers.rabbit?.url as string,
    adminToken: BENCH_TOKEN,
    log: createLogger('warn'),
    keyPrefix: prefix,
  })
  await app.prepare()
  await app.start(['worker'])
  const shared = () => ({
    redis: treeCpuMs(bench.servers.redis.pid),
    broker: treeCpuMs(bench.servers.rabbit?.pid as number),
    gateway: treeCpuMs(gateways.pid),
  })
  const before = { ...shared(), own: process.cpuUsage() }
  const started = process.hrtime.bigint()
  // 100 requests in flight, random mainland numbers (each phone's own limit never bites).
  let next = 0
  const lane = async () => {
    while (next < count) {
      next += 1
      const phone = `139${String(Math.floor(Math.random() * 1e8)).padStart(8, '0')}`
      const res = await app.http.inject({
        method: 'POST',
        url: '/api/sms',
        payload: { phone, content: 'Your parcel is on its way' },
      })
      if (res.statusCode !== 202) throw new Error(`POST /api/sms: ${res.statusCode} ${res.body}`)
    }
  }
  await Promise.all(Array.from({ length: 100 }, lane))
  let sent = 0
  for (;;) {
    const row = await app.db
      .selectFrom('sms_messages')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('status', 'in', ['sent', 'delivered', 'failed'])
      .executeTakeFirstOrThrow()
    sent = Number(row.n)
    if (sent >= count) break
    await new Promise((r) => setTimeout(r, 20))
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9
  const own = process.cpuUsage(before.own)
  const after = shared()
  const failed = await app.db
    .selectFrom('sms_messages')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('status', '=', 'failed')
    .executeTakeFirstOrThrow()
  await app.close()
  if (Number(failed.n) > 0) throw new Error(`${contender.name}: ${failed.n} SMS failed`)
  return {
    name: contender.name,
    perSecond: count / seconds,
    hotspotMs: (own.user + own.system) / 1000 / count,
    redisMs: (after.redis - before.redis) / count,
    brokerMs: (after.broker - before.broker) / count,
    gatewayMs: (after.gateway - before.gateway) / count,
    sent,
  }
}

const results: Result[] = []
for (const contender of contenders) {
  say(`${contender.name}: ${count} SMS`)
  results.push(await run(contender))
}
const accepted = (await (await fetch(`${gateways.url}/accepted`)).json()) as { ihuyi: number; smpp: number }

const ms = (v: number) => v.toFixed(2)
const lines = [
  `# SMS delivery benchmark — ${new Date().toISOString()}`,
  '',
  `Machine: ${machine()}. ${count} SMS per contender (one segment each), POST /api/sms with 100 in flight, one`,
  `worker with concurrency ${window} (the window of outstanding submit_sm on the one SMPP bind). hotspot (API +`,
  'worker) in the bench process, the gateway stand-ins in another; Redis, RabbitMQ and SQLite private.',
  '',
  '| contender | SMS/s (POST → sent) | hotspot CPU ms/SMS | Redis | RabbitMQ | gateway process |',
  '|---|---|---|---|---|---|',
  ...results.map(
    (r) =>
      `| ${r.name} | ${r.perSecond.toFixed(0)} | ${ms(r.hotspotMs)} | ${ms(r.redisMs)} | ${ms(r.brokerMs)} | ${ms(r.gatewayMs)} |`,
  ),
  '',
  `Gateways took exactly what was sent: ihuyi ${accepted.ihuyi}, SMSC ${accepted.smpp} (expected ${count} each).`,
]
writeResult('sms', lines.join('\n'))
await bench.stop()
process.exit(accepted.ihuyi === count && accepted.smpp === count ? 0 : 1)
