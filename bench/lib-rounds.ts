/**
 * The one alternating-rounds runner of the HTTP benches. This machine is shared and noisy: each round runs every
 * contender back to back (the order rotating, so none always gets the warmer machine), and the reports use the
 * median and the spread of per-round ratios, never the best round. Every run also measures CPU per request of
 * the contender's process, of redis-server and of the broker: it stays put when req/s moves with the machine.
 */
import os from 'node:os'
import { type Contender, type LoadResult, measure, median, pct, say } from './lib.ts'
import { measureCpu } from './lib-cpu.ts'

export interface HttpRun {
  /** Row label in the reports, e.g. `(a) Fastify hello-world`. */
  name: string
  server: Contender
  path: string
  method?: 'GET' | 'POST'
  body?: string
  bodyLua?: string
  paths?: string[]
  /** Called before this contender's run in each round; may return the path for that round (a fresh product). */
  prepare?: (round: number) => Promise<string | undefined>
  /** Called after this contender's run in each round, e.g. to count what the run left in Redis. */
  check?: (round: number, result: LoadResult) => Promise<string | undefined>
}

export interface Measured extends LoadResult {
  /** µs of CPU per answered request, per process (`node` is the contender's own process tree). */
  cpuUs: { node: number; redis: number; broker?: number }
  /** What `check` said about this run. */
  note?: string
}

export type Round = Record<string, Measured>

export interface Shared {
  redisPid: number
  brokerPid?: number
}

export async function alternatingRounds(options: {
  runs: HttpRun[]
  rounds: number
  seconds: number
  connections: number
  servers: Shared
}): Promise<Round[]> {
  const { runs, rounds, seconds, connections, servers } = options
  const results: Round[] = []
  for (let round = 1; round <= rounds; round++) {
    const order = runs.map((_, i) => runs[(i + round - 1) % runs.length] as HttpRun)
    const measured: Round = {}
    for (const run of order) {
      say(`round ${round}/${rounds}: ${run.name}`)
      const path = (await run.prepare?.(round)) ?? run.path
      const { result, cpuMs } = await measureCpu(
        { node: run.server.pid, redis: servers.redisPid, broker: servers.brokerPid },
        () =>
          measure({
            url: `${run.server.url}${path}`,
            method: run.method,
            body: run.body,
            bodyLua: run.bodyLua,
            paths: run.paths,
            connections,
            seconds,
          }),
      )
      const per = (ms: number | undefined) =>
        ms === undefined ? undefined : (ms * 1000) / Math.max(1, result.requests)
      measured[run.name] = {
        ...result,
        cpuUs: { node: per(cpuMs.node) ?? 0, redis: per(cpuMs.redis) ?? 0, broker: per(cpuMs.broker) },
        note: await run.check?.(round, result),
      }
      say(
        `  ${result.requestsPerSecond.toFixed(0)} req/s, ${measured[run.name]?.cpuUs.node.toFixed(0)} µs CPU/req`,
      )
    }
    results.push(measured)
  }
  return results
}

/** `median (min–max)` of some values, formatted by `format`. */
export function spread(values: number[], format: (v: number) => string): string {
  if (values.length === 0) return 'n/a'
  const min = Math.min(...values)
  const max = Math.max(...values)
  return values.length === 1 ? format(min) : `${format(median(values))} (${format(min)}–${format(max)})`
}

/** Median and spread over the rounds of `of(round)`, e.g. a contender's throughput over hello-world's. */
export const ratioSpread = (results: Round[], of: (round: Round) => number) => spread(results.map(of), pct)

export const throughputRatio = (a: string, b: string) => (round: Round) =>
  (round[a]?.requestsPerSecond ?? 0) / Math.max(1e-9, round[b]?.requestsPerSecond ?? 0)

const f0 = (n: number) => n.toFixed(0)

/** One table: every contender in every round, with CPU per request. */
export function roundsTable(results: Round[]): string[] {
  const broker = results.some((r) => Object.values(r).some((m) => m.cpuUs.broker !== undefined))
  const lines = [
    `| round | contender | req/s | p50 ms | p99 ms | 2xx | errors | CPU µs/req node | redis |${broker ? ' broker |' : ''} notes |`,
    `|---|---|---|---|---|---|---|---|---|${broker ? '---|' : ''}---|`,
  ]
  for (const [i, round] of results.entries()) {
    for (const [name, m] of Object.entries(round)) {
      lines.push(
        `| ${i + 1} | ${name} | ${f0(m.requestsPerSecond)} | ${m.p50} | ${m.p99} | ${m.ok} | ${m.errors} | ${f0(m.cpuUs.node)} | ${f0(m.cpuUs.redis)} |${broker ? ` ${f0(m.cpuUs.broker ?? 0)} |` : ''} ${m.note ?? ''} |`,
      )
    }
  }
  return lines
}

/** Per contender: median (and spread) over rounds of req/s and of CPU per request in each process. */
export function cpuBudgetTable(results: Round[]): string[] {
  const names = Object.keys(results[0] ?? {})
  const broker = results.some((r) => Object.values(r).some((m) => m.cpuUs.broker !== undefined))
  const lines = [
    `| contender | req/s | CPU µs/req node | redis |${broker ? ' broker |' : ''} total |`,
    `|---|---|---|---|${broker ? '---|' : ''}---|`,
  ]
  for (const name of names) {
    const of = (pick: (m: Measured) => number) => results.map((r) => (r[name] ? pick(r[name]) : 0))
    const total = (m: Measured) => m.cpuUs.node + m.cpuUs.redis + (m.cpuUs.broker ?? 0)
    lines.push(
      `| ${name} | ${spread(
        of((m) => m.requestsPerSecond),
        f0,
      )} | ${spread(
        of((m) => m.cpuUs.node),
        f0,
      )} | ${spread(
        of((m) => m.cpuUs.redis),
        f0,
      )} |${
        broker
          ? ` ${spread(
              of((m) => m.cpuUs.broker ?? 0),
              f0,
            )} |`
          : ''
      } ${spread(of(total), f0)} |`,
    )
  }
  return lines
}

/** The machine's load, at the start and now: a quiet machine has a 1-minute load well under its core count. */
export function loadLine(atStart: number): string {
  const now = os.loadavg()[0] ?? 0
  const quiet = Math.max(atStart, now) < 0.5 * os.cpus().length
  return `Load average (1 min): ${atStart.toFixed(2)} at the start, ${now.toFixed(2)} at the end (${os.cpus().length} cores: ${quiet ? 'a quiet machine' : '**other work competed; the figures are noisier than usual**'}).`
}

/** The two sections every HTTP bench's result file ends with: the CPU budget per contender, then every round. */
export const budgetAndRounds = (results: Round[]): string[] => [
  '## CPU budget per request (median and spread over rounds)',
  '',
  ...cpuBudgetTable(results),
  '',
  '## Per round',
  '',
  ...roundsTable(results),
  '',
]
