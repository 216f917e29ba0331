/**
 * `npm run bench -- replicas`: what REDIS_WAIT_REPLICAS=1 costs. A private Redis gets one replica; two hotspot
 * processes (API + worker) on it differ only in REDIS_WAIT_REPLICAS (0 / 1). Alternating rounds
 * (bench/lib-rounds.ts) of POST /api/items/:id/views (one WAIT per view batch) and of seckill buy attempts by
 * distinct users on a fresh product (a WAIT after the per-user limiter take and after each admission batch).
 */
import os from 'node:os'
import path from 'node:path'
import { Redis } from 'ioredis'
import { startRedis } from '../src/infra/local-servers.ts'
import { benchSetup, machine, say, writeResult } from './lib.ts'
import { alternatingRounds, budgetAndRounds, loadLine, ratioSpread, throughputRatio } from './lib-rounds.ts'

const rounds = Number(process.env.BENCH_ROUNDS ?? 3)
const seconds = Number(process.env.BENCH_SECONDS ?? 10)
const connections = 100

const loadAtStart = os.loadavg()[0] ?? 0
const bench = await benchSetup({ rabbitmq: true })
const masterPort = new URL(bench.servers.redis.url).port
const replica = await startRedis({
  dir: path.join(bench.servers.root, 'replica'),
  extraArgs: ['--replicaof', '127.0.0.1', masterPort],
})
const master = new Redis(bench.servers.redis.url)
for (let i = 0; i < 100 && !/connected_slaves:1/.test(await master.info('replication')); i++)
  await new Promise((r) => setTimeout(r, 100))

say('starting contenders')
// The per-address limit is off (every attempt comes from the load generator); the per-user limit is on.
const common = { BENCH_ROLES: 'api,worker', SECKILL_IP_LIMIT: '0', LOG_LEVEL: 'error' }
const async0 = await bench.spawn('bench/servers/hotspot-api.js', { ...common, REDIS_WAIT_REPLICAS: '0' })
const wait1 = await bench.spawn('bench/servers/hotspot-api.js', { ...common, REDIS_WAIT_REPLICAS: '1' })
const item = await bench.admin<{ id: number }>(async0, 'POST', '/api/items', {
  kind: 'article',
  title: 'bench',
})
const product = (name: string) =>
  bench.admin<{ id: number }>(async0, 'POST', '/api/products', { name, stock: 100 }).then((p) => p.id)

const VIEWS0 = '(a) views, REDIS_WAIT_REPLICAS=0'
const VIEWS1 = '(b) views, REDIS_WAIT_REPLICAS=1'
const BUY0 = '(c) seckill attempts, REDIS_WAIT_REPLICAS=0'
const BUY1 = '(d) seckill attempts, REDIS_WAIT_REPLICAS=1'
const views = (name: string, server: typeof async0) => ({
  name,
  server,
  path: `/api/items/${item.id}/views`,
  method: 'POST' as const,
  body: '{}',
})
const buys = (name: string, server: typeof async0) => ({
  name,
  server,
  path: '/',
  method: 'POST' as const,
  // A user of its own per attempt: the per-user limit never refuses, the stock does.
  bodyLua: `'{"userId":"${name[1]}-' .. n .. '"}'`,
  prepare: async (round: number) => `/api/seckill/${await product(`${name} ${round}`)}`,
})
const results = await alternatingRounds({
  rounds,
  seconds,
  connections,
  servers: bench.shared,
  runs: [views(VIEWS0, async0), views(VIEWS1, wait1), buys(BUY0, async0), buys(BUY1, wait1)],
})

const lines = [
  `# REDIS_WAIT_REPLICAS benchmark — ${new Date().toISOString()}`,
  '',
  `Machine: ${machine()}. wrk, ${connections} connections, ${seconds} s per contender, ${rounds} alternating rounds.`,
  'One private Redis master with one replica on the same machine, RabbitMQ, SQLite; both hotspot processes run',
  'API + worker and differ only in REDIS_WAIT_REPLICAS.',
  loadLine(loadAtStart),
  '',
  '## Summary (median and spread of per-round ratios)',
  '',
  `- views with WAIT / without: **${ratioSpread(results, throughputRatio(VIEWS1, VIEWS0))}** of the throughput`,
  `- seckill attempts with WAIT / without: **${ratioSpread(results, throughputRatio(BUY1, BUY0))}** of the throughput`,
  '',
  ...budgetAndRounds(results),
]
writeResult('replicas', lines.join('\n'))

master.disconnect()
await replica.stop()
await bench.stop()
process.exit(0)
