/**
 * Reads a V8 CPU profile (`node --cpu-prof`) and says where a time window's CPU went, grouped the way issue 16
 * asks (parsing and validation, hooks, serialisation, Redis client, SQL, publishing, …). V8 stamps samples with
 * the monotonic clock `process.hrtime` reads, so the bench cuts one profile into per-route windows by taking
 * `process.hrtime` around each load run.
 */
import fs from 'node:fs'
import path from 'node:path'
import { type Contender, measure } from './lib.ts'
import { measureCpu } from './lib-cpu.ts'

interface CallFrame {
  functionName: string
  url: string
  lineNumber: number
}

interface ProfileNode {
  id: number
  callFrame: CallFrame
  parent?: number
  children?: number[]
}

interface CpuProfile {
  nodes: ProfileNode[]
  startTime: number
  samples: number[]
  timeDeltas: number[]
}

export const nowUs = () => Number(process.hrtime.bigint() / 1000n)

/**
 * The category of a stack: the first frame from the leaf up that has a source URL decides (a native or
 * compiled-at-runtime leaf — JSON.parse, a `new Function` serialiser — belongs to its caller), with two
 * exceptions read from the function name: Ajv's compiled `validateN` and fast-json-stringify's `anonymous` code.
 */
function categorise(frames: CallFrame[], extra: Rule[]): string {
  const leaf = frames[0]
  if (!leaf) return 'other'
  if (leaf.functionName === '(garbage collector)') return 'GC'
  if (leaf.functionName === '(program)') return 'V8 / native (program)'
  for (const frame of frames) {
    if (!frame.url && /^validate\d*$/.test(frame.functionName)) return 'parsing + validation'
    if (frame.url) return byUrl(frame, extra)
  }
  return 'other'
}

/** A source-URL pattern and the category of the frames it matches. */
export type Rule = [RegExp, string]

const RULES: Rule[] = [
  [
    /node_modules\/(ioredis|redis-parser|redis-errors|denque|cluster-key-slot|standard-as-callback)\//,
    'Redis client',
  ],
  [/node_modules\/rabbitmq-client\//, 'publishing (rabbitmq-client)'],
  [/node_modules\/(better-sqlite3|kysely|pg)\//, 'SQL (kysely, driver)'],
  [/node_modules\/(pino|sonic-boom|fast-redact|thread-stream)/, 'logging'],
  [/node_modules\/prom-client\//, 'hooks: metrics'],
  [/node_modules\/(@fastify\/cookie|cookie|cookie-signature)\//, 'hooks: cookies'],
  [/node_modules\/@fastify\/under-pressure\//, 'hooks: load shedding'],
  [
    /node_modules\/(fast-json-stringify|@fastify\/fast-json-stringify-compiler|json-schema-ref-resolver)\//,
    'serialisation',
  ],
  [/node_modules\/fastify\/lib\/(reply|error-serializer)\.js/, 'serialisation + reply'],
  [
    /node_modules\/(secure-json-parse|ajv|fast-uri|@fastify\/ajv-compiler|fast-querystring)\//,
    'parsing + validation',
  ],
  [/node_modules\/fastify\/lib\/(contentTypeParser|validation|schemas)\.js/, 'parsing + validation'],
  [/node_modules\/fastify\/lib\/hooks\.js/, 'hooks: Fastify runner'],
  [
    /node_modules\/(find-my-way|fastify|avvio|@fastify\/[a-z-]+|light-my-request|toad-cache|process-warning)\//,
    'Fastify core (routing, request, reply)',
  ],
  [/\/infra\/http\.(js|ts)/, 'hooks: infra/http (control chars, deadline, in-flight, timer)'],
  [/\/infra\/metrics\.(js|ts)/, 'hooks: metrics'],
  [/\/infra\//, 'infra (other)'],
  [/\/(counters|seckill|sms|banners|cache|ratelimit|verification|tasks)\//, 'feature code'],
  [/^node:/, 'Node core (HTTP, sockets, timers, streams)'],
  [/node_modules\//, 'other libraries'],
]

function byUrl(frame: CallFrame, extra: Rule[]): string {
  for (const [pattern, category] of extra) if (pattern.test(frame.url)) return category
  for (const [pattern, category] of RULES) if (pattern.test(frame.url)) return category
  return 'other'
}

export interface WindowSummary {
  /** Samples that were not idle. */
  busySamples: number
  /** Share of the busy samples per category, largest first. */
  categories: [string, number][]
  /** Functions with the most self time (share of busy samples), for finding the next thing to fix. */
  topFunctions: [string, number][]
}

export function readProfile(file: string): CpuProfile {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile
}

/**
 * The CPU of the samples between `fromUs` and `toUs` (hrtime µs), by category and by function; `extra` rules
 * are tried before the built-in ones (a bench splits its own feature's code finer).
 */
export function summarise(
  profile: CpuProfile,
  fromUs: number,
  toUs: number,
  top = 12,
  extra: Rule[] = [],
): WindowSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  for (const node of profile.nodes)
    for (const child of node.children ?? []) {
      const c = byId.get(child)
      if (c) c.parent = node.id
    }
  const categoryOf = new Map<number, string>()
  const stackOf = (id: number): CallFrame[] => {
    const frames: CallFrame[] = []
    for (let n = byId.get(id); n; n = n.parent === undefined ? undefined : byId.get(n.parent))
      frames.push(n.callFrame)
    return frames
  }
  const categories = new Map<string, number>()
  const functions = new Map<string, number>()
  let busy = 0
  let t = profile.startTime
  for (const [i, id] of profile.samples.entries()) {
    t += profile.timeDeltas[i] ?? 0
    if (t < fromUs || t > toUs) continue
    const node = byId.get(id)
    if (!node || node.callFrame.functionName === '(idle)') continue
    busy++
    let category = categoryOf.get(id)
    if (category === undefined) {
      category = categorise(stackOf(id), extra)
      categoryOf.set(id, category)
    }
    categories.set(category, (categories.get(category) ?? 0) + 1)
    const f = node.callFrame
    const where = f.url ? `${f.url.replace(/^.*\/(node_modules|dist)\//, '')}:${f.lineNumber + 1}` : 'native'
    const name = `${f.functionName || '(anonymous)'} ${where}`
    functions.set(name, (functions.get(name) ?? 0) + 1)
  }
  const share = (m: Map<string, number>) =>
    [...m.entries()].sort((a, b) => b[1] - a[1]).map(([k, v]): [string, number] => [k, v / Math.max(1, busy)])
  return { busySamples: busy, categories: share(categories), topFunctions: share(functions).slice(0, top) }
}

/** What `profiledRoute` needs of a bench (bench/lib.ts benchSetup). */
interface ProfilingBench {
  servers: { root: string; redis: { pid: number } }
  spawn(script: string, extra: Record<string, string>, options: { nodeArgs: string[] }): Promise<Contender>
}

/**
 * Issue 16's breakdown for one route, in that route's own result file: after the measured rounds, one more run of
 * the route on a second hotspot process (the same `bench/servers/hotspot-api.js` on dist/, the same environment)
 * under `node --cpu-prof` — never on the measured contender, which the profiler would slow. Returns the section:
 * node CPU per request by part (share of busy profile samples × the CPU µs per request /proc measured in that
 * run, the profiler's cost included) and the functions with the most self time.
 */
export async function profiledRoute(
  bench: ProfilingBench,
  options: {
    route: string
    env?: Record<string, string>
    seconds: number
    connections: number
    /** Creates what the run needs on the profiled process (an item, a product) and says what to load. */
    setup: (server: Contender) => Promise<Omit<Parameters<typeof measure>[0], 'url'> & { path: string }>
  },
): Promise<string[]> {
  const dir = path.join(bench.servers.root, `profile-${options.route.replace(/\W+/g, '-')}`)
  const server = await bench.spawn('bench/servers/hotspot-api.js', options.env ?? {}, {
    nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${dir}`, 'bench/servers/hotspot-api.js'],
  })
  const { path: route, ...load } = await options.setup(server)
  const url = `${server.url}${route}`
  await measure({ ...load, url, connections: options.connections, seconds: 2 }) // JIT warm-up
  const from = nowUs()
  const { result, cpuMs } = await measureCpu({ node: server.pid, redis: bench.servers.redis.pid }, () =>
    measure({ ...load, url, connections: options.connections, seconds: options.seconds }),
  )
  const to = nowUs()
  await server.stop() // the profile is written as the process exits
  const file = fs.readdirSync(dir).find((f) => f.endsWith('.cpuprofile'))
  if (!file) throw new Error(`no CPU profile from the profiled ${options.route} run`)
  const summary = summarise(readProfile(path.join(dir, file)), from, to, 12)
  const nodeUs = ((cpuMs.node ?? 0) * 1000) / Math.max(1, result.requests)
  const redisUs = ((cpuMs.redis ?? 0) * 1000) / Math.max(1, result.requests)
  return [
    `## Where hotspot's CPU goes: ${options.route} under the profiler`,
    '',
    `One more run after the rounds, on a second hotspot process under \`node --cpu-prof\` (wrk, ${options.connections}`,
    `connections, ${options.seconds} s after a 2 s warm-up): ${result.requestsPerSecond.toFixed(0)} req/s, node`,
    `${nodeUs.toFixed(0)} µs of CPU per request with the profiler's own cost (redis-server ${redisUs.toFixed(0)} µs).`,
    "Each part's µs per request is its share of the busy samples × that figure.",
    '',
    '| part | % of node CPU | µs/req |',
    '|---|---|---|',
    ...summary.categories.map(
      ([part, share]) => `| ${part} | ${(share * 100).toFixed(1)} | ${(share * nodeUs).toFixed(1)} |`,
    ),
    `| **total** | 100 | ${nodeUs.toFixed(0)} |`,
    '',
    'Most self time:',
    '',
    ...summary.topFunctions.map(([name, share]) => `- ${(share * 100).toFixed(1)} % ${name}`),
    '',
  ]
}
