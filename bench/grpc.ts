/**
 * `npm run bench -- grpc`, in alternating rounds (this machine is noisy; the summary uses medians of per-round
 * ratios), all contenders in their own processes on the bench's private Redis and RabbitMQ:
 *   (a) the seed's Python grpcio Gateway server (ThreadPoolExecutor; bench/python/gateway_server.py),
 *   (b) hotspot's schema.Gateway/Call,
 * each driven by the same load generator (bench/lib-grpc.ts) on one stream and on 50 concurrent streams;
 *   (c) hotspot.v1.Views/Record events/s against POST /api/items/:id/views req/s (wrk), then the same exact
 *       number of views through each door (autocannon with an amount, streams with a message count), each
 *       checked against the item's count.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { promisify } from 'node:util'
import { PROTO_DIR } from '../src/grpc/protos.ts'
import { freePort } from '../src/infra/local-servers.ts'
import {
  type LoadResult,
  load,
  machine,
  measure,
  median,
  privateServers,
  say,
  spawnServer,
  writeResult,
} from './lib.ts'
import { driveStreams, type StreamLoadResult } from './lib-grpc.ts'

const PYTHON = '/usr/bin/python3'
const rounds = Number(process.env.BENCH_ROUNDS ?? 3)
const seconds = Number(process.env.BENCH_SECONDS ?? 8)
const token = 'bench-admin-token-0123456789'
const shapes = [
  { streams: 1, inFlight: 100 },
  { streams: 50, inFlight: 20 },
]
// Views: the same number of views in flight over both doors (100 HTTP connections, 10 streams x 10), and a
// deeper pipeline, which is what a stream is for (HTTP/1.1 keeps one request in flight per connection).
const viewShapes = [
  { streams: 10, inFlight: 10 },
  { streams: 10, inFlight: 100 },
]
const httpConnections = 100
// The exactness run: this many views through each door, every one accounted for.
const amount = Number(process.env.BENCH_REQUESTS ?? 20_000)
const BASE = 2n ** 53n // past what a double holds exactly: the answers prove int64 is kept whole

const servers = await privateServers({ rabbitmq: true })
const stubs = path.join(servers.root, 'stubs')
fs.mkdirSync(stubs)
await promisify(execFile)(PYTHON, [
  '-m',
  'grpc_tools.protoc',
  '-I',
  PROTO_DIR,
  `--python_out=${stubs}`,
  `--grpc_python_out=${stubs}`,
  path.join(PROTO_DIR, 'schema.proto'),
])

/** The Python server, with a worker thread per stream (a streaming call holds its thread for its whole life). */
async function startPython(): Promise<{ address: string; child: ChildProcess }> {
  const port = await freePort()
  const workers = String(Math.max(...shapes.map((s) => s.streams)) + 14)
  const child = spawn(PYTHON, ['bench/python/gateway_server.py', String(port), workers], {
    env: { ...process.env, PYTHONPATH: stubs },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  await new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', (d: Buffer) => d.toString().includes('READY') && resolve())
    child.once('exit', (code) => reject(new Error(`gateway_server.py exited with ${code}`)))
  })
  return { address: `127.0.0.1:${port}`, child }
}

say('starting contenders')
const python = await startPython()
const grpcPort = await freePort()
const hotspot = await spawnServer('bench/servers/hotspot-api.js', {
  BENCH_ROLES: 'api,grpc',
  REDIS_URL: servers.redis.url,
  AMQP_URL: servers.rabbit?.url as string,
  DATABASE_URL: path.join(servers.root, 'bench.db'),
  HOTSPOT_ADMIN_TOKEN: token,
  GRPC_PORT: String(grpcPort),
})
const hotspotGrpc = `127.0.0.1:${grpcPort}`

async function createItem(title: string): Promise<string> {
  const res = await fetch(`${hotspot.url}/api/items`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ kind: 'article', title }),
  })
  return String(((await res.json()) as { id: number }).id)
}
const viewsOf = async (id: string) =>
  ((await (await fetch(`${hotspot.url}/api/items/${id}`)).json()) as { views: number }).views

const gateway = (address: string, shape: { streams: number; inFlight: number }) =>
  driveStreams({
    address,
    service: 'schema.Gateway',
    method: 'Call',
    ...shape,
    seconds,
    request: (_stream, seq) => ({ num: (BASE + BigInt(seq)).toString() }),
    check: (_stream, seq, reply) => (reply as { num: string }).num === (BASE + BigInt(seq) + 1n).toString(),
  })

/** Views/Record on a fresh item; exact when the item's count grew by exactly the number of acks. */
async function grpcViews(shape: { streams: number; inFlight: number }, messagesPerStream?: number) {
  const item = await createItem('grpc views')
  const result = await driveStreams({
    address: hotspotGrpc,
    service: 'hotspot.v1.Views',
    method: 'Record',
    ...shape,
    seconds,
    messagesPerStream,
    request: () => ({ item_id: item, visitor_id: 'bench-visitor' }),
    check: (_stream, _seq, reply) => (reply as { item_id: string }).item_id === item,
  })
  return { result, exact: (await viewsOf(item)) === result.answered }
}

/** POST views on a fresh item: wrk for a duration, or autocannon for an exact amount (then checked). */
async function httpViews(exactAmount?: number) {
  const item = await createItem('http views')
  const options = {
    url: `${hotspot.url}/api/items/${item}/views`,
    method: 'POST' as const,
    body: JSON.stringify({ visitorId: 'bench-visitor' }),
    connections: httpConnections,
    seconds,
  }
  const result = exactAmount ? await load({ ...options, amount: exactAmount }) : await measure(options)
  return { result, views: await viewsOf(item) }
}

interface Round {
  gateway: { python: StreamLoadResult; hotspot: StreamLoadResult }[]
  views: { result: StreamLoadResult; exact: boolean }[]
  http: LoadResult
}
const results: Round[] = []
for (let round = 1; round <= rounds; round++) {
  const r: Round = { gateway: [], views: [], http: {} as LoadResult }
  for (const shape of shapes) {
    say(`round ${round}/${rounds}: Gateway, ${shape.streams} stream(s): Python, then hotspot`)
    const py = await gateway(python.address, shape)
    const hs = await gateway(hotspotGrpc, shape)
    r.gateway.push({ python: py, hotspot: hs })
    say(`  python ${py.messagesPerSecond.toFixed(0)}  hotspot ${hs.messagesPerSecond.toFixed(0)} msg/s`)
  }
  say(`round ${round}/${rounds}: views over HTTP, then Views/Record`)
  r.http = (await httpViews()).result
  for (const shape of viewShapes) r.views.push(await grpcViews(shape))
  say(
    `  HTTP ${r.http.requestsPerSecond.toFixed(0)} req/s  Views/Record ${r.views.map((v) => v.result.messagesPerSecond.toFixed(0)).join(' / ')} events/s`,
  )
  results.push(r)
}

say(`exactness: ${amount} views through each door, each on a fresh item`)
const exactHttp = await httpViews(amount)
const exactGrpcShape = { streams: 10, inFlight: 100 }
const exactGrpc = await grpcViews(exactGrpcShape, amount / exactGrpcShape.streams)

const fmt = (n: number) => n.toFixed(n < 10 ? 2 : 0)
const streamRow = (name: string, shape: { streams: number; inFlight: number }, r: StreamLoadResult) =>
  `| ${name} | ${shape.streams} × ${shape.inFlight} | ${fmt(r.messagesPerSecond)} | ${fmt(r.p50)} | ${fmt(r.p99)} | ${r.answered} | ${r.errors} |`
const lines = [
  `# gRPC benchmark — ${new Date().toISOString()}`,
  '',
  `Machine: ${machine()}. ${seconds} s per measurement, ${rounds} alternating rounds. Every contender runs in its own`,
  'process; Redis and RabbitMQ are private servers started by the bench. Load: bench/lib-grpc.ts (bare HTTP/2,',
  'the same generator for every gRPC contender; "streams × in flight" = concurrent streams × messages each keeps',
  `unanswered). HTTP views: wrk, ${httpConnections} connections. Requests carry nums from 2^53 up and every answer is checked.`,
  '',
]
for (const [i, r] of results.entries()) {
  lines.push(
    `## Round ${i + 1}`,
    '',
    '| contender | streams × in flight | messages/s | p50 ms | p99 ms | answers | errors |',
    '|---|---|---|---|---|---|---|',
  )
  for (const [s, g] of r.gateway.entries()) {
    const shape = shapes[s] as (typeof shapes)[number]
    lines.push(
      streamRow('(a) Python grpcio Gateway', shape, g.python),
      streamRow('(b) hotspot Gateway', shape, g.hotspot),
    )
  }
  for (const [s, v] of r.views.entries())
    lines.push(
      streamRow(
        `(c) Views/Record${v.exact ? '' : ' **count MISMATCH**'}`,
        viewShapes[s] as (typeof viewShapes)[number],
        v.result,
      ),
    )
  const h = r.http
  lines.push(
    `| (c) POST /api/items/:id/views | ${httpConnections} connections | ${fmt(h.requestsPerSecond)} | ${fmt(h.p50)} | ${fmt(h.p99)} | ${h.ok} | ${h.errors} |`,
    '',
  )
}
const ratio = (f: (r: Round) => number) => median(results.map(f))
const gatewayRatios = shapes.map((_, s) =>
  ratio((r) => {
    const g = r.gateway[s] as Round['gateway'][number]
    return g.hotspot.messagesPerSecond / g.python.messagesPerSecond
  }),
)
const viewRatios = viewShapes.map((_, s) =>
  ratio((r) => (r.views[s]?.result.messagesPerSecond ?? 0) / r.http.requestsPerSecond),
)
const timedExact = results.every((r) => r.views.every((v) => v.exact))
const httpExact = exactHttp.result.ok === amount && exactHttp.views === amount
const grpcExact = exactGrpc.result.answered === amount && exactGrpc.exact
const allExact = httpExact && grpcExact && timedExact
const noErrors = results.every(
  (r) =>
    r.gateway.every((g) => g.python.errors + g.hotspot.errors === 0) &&
    r.views.every((v) => v.result.errors === 0),
)
lines.push(
  '## Summary (medians of per-round ratios)',
  '',
  ...shapes.map(
    (shape, s) =>
      `- hotspot Gateway / Python Gateway, ${shape.streams} stream(s): **${(gatewayRatios[s] as number).toFixed(2)}×** messages/s (goal ≥ 3×)`,
  ),
  ...viewShapes.map(
    (shape, s) =>
      `- Views/Record (${shape.streams} streams × ${shape.inFlight} in flight) / POST views (${httpConnections} connections): **${(viewRatios[s] as number).toFixed(2)}×** (goal ≥ 2×)`,
  ),
  `- exact counts, ${amount} views through each door on fresh items: POST views (autocannon, ${httpConnections} connections) ${exactHttp.result.ok} 2xx → item views ${exactHttp.views} ${httpExact ? '**exact**' : '**MISMATCH**'}; Views/Record (${exactGrpcShape.streams} streams × ${exactGrpcShape.inFlight} in flight) ${exactGrpc.result.answered} acks → ${grpcExact ? '**exact**' : '**MISMATCH**'}`,
  `- throughput in that exact run: POST views ${fmt(exactHttp.result.requestsPerSecond)} req/s (autocannon: its own CPU caps it on small machines), Views/Record ${fmt(exactGrpc.result.messagesPerSecond)} events/s`,
  `- every timed Views/Record run: item views = acks ${timedExact ? '(exact)' : '(**MISMATCH**)'}; wrong answers or failed streams: ${noErrors ? 'none' : '**some, see the tables**'}`,
  '',
)
writeResult('grpc', lines.join('\n'))

python.child.kill('SIGTERM')
await hotspot.stop()
await servers.stop()
process.exit(allExact && noErrors ? 0 : 1)
