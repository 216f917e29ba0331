/**
 * Shared by the task-queue contenders of `bench/tasks.ts` (each runs in a process of its own): the settings
 * they all read from the environment, a bounded publish window, the Celery result check and the JSON report.
 */
import type { Redis } from 'ioredis'

export const settings = {
  tasks: Number(process.env.TASKS_N ?? 20_000),
  queue: process.env.TASKS_QUEUE ?? `bench-${process.pid}`,
  /** Publishes waiting for their broker confirm at once. */
  inFlight: Number(process.env.TASKS_IN_FLIGHT ?? 1000),
  concurrency: Number(process.env.TASKS_CONCURRENCY ?? 100),
  prefetch: Number(process.env.TASKS_PREFETCH ?? 200),
  redisUrl: process.env.REDIS_URL as string,
  amqpUrl: process.env.AMQP_URL as string,
  /** Where the task messages go: RabbitMQ (`amqp`) or Redis (`redis`, kombu's transport). */
  broker: process.env.TASKS_BROKER === 'redis' ? 'redis' : 'amqp',
  /**
   * `e2e`: publish and consume at once, first publish → last result read back. `drain`: the queue is filled
   * first, then the worker starts: its rate alone (hotspot only).
   */
  mode: process.env.TASKS_MODE === 'drain' ? 'drain' : 'e2e',
}

/** Runs `send(i)` for i = 0..n-1 with at most `window` calls pending; returns the ids in order. */
export async function publishWindowed<T>(
  n: number,
  window: number,
  send: (i: number) => Promise<T>,
): Promise<T[]> {
  const ids = new Array<T>(n)
  let next = 0
  async function lane() {
    while (next < n) {
      const i = next++
      ids[i] = await send(i)
    }
  }
  await Promise.all(Array.from({ length: Math.min(window, n) }, lane))
  return ids
}

/** Resolves once `tick()` was called `n` times: the handlers count their runs with it. */
export function countdown(n: number) {
  let seen = 0
  let resolve!: () => void
  const done = new Promise<void>((r) => {
    resolve = r
  })
  return {
    done,
    tick() {
      if (++seen === n) resolve()
    },
  }
}

/**
 * Reads every result key (MGET in chunks) until all hold the state `wanted`, or `timeoutMs` passes; returns
 * how many did. The handlers' own count says the work ran; this says every outcome was stored.
 */
export async function countStored(
  redis: Redis,
  keys: string[],
  isDone: (value: string | null) => boolean,
  timeoutMs = 30_000,
): Promise<number> {
  const deadline = Date.now() + timeoutMs
  const done = new Array<boolean>(keys.length).fill(false)
  for (;;) {
    for (let start = 0; start < keys.length; start += 1000) {
      const indexes: number[] = []
      for (let i = start; i < Math.min(start + 1000, keys.length); i++) if (!done[i]) indexes.push(i)
      if (indexes.length === 0) continue
      const values = await redis.mget(indexes.map((i) => keys[i] as string))
      values.forEach((value, j) => {
        if (isDone(value)) done[indexes[j] as number] = true
      })
    }
    const found = done.filter(Boolean).length
    if (found === keys.length || Date.now() > deadline) return found
    await new Promise((r) => setTimeout(r, 20))
  }
}

export const celerySucceeded = (value: string | null) =>
  value !== null && (value.includes('"status": "SUCCESS"') || value.includes('"status":"SUCCESS"'))

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN
  const sorted = Float64Array.from(values).sort()
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number
}

export interface ContenderReport {
  tasks: number
  /** First publish → last result verified stored. */
  seconds: number
  /** First publish → last publish confirmed. */
  publishSeconds: number
  /** Publish call → handler start, ms (null when not measured: a drain run). */
  p50: number | null
  p99: number | null
  /** Results found stored with state SUCCESS (or completed, for BullMQ). */
  found: number
  /** CPU time of the contender's own process over the same span, ms. */
  cpuMs?: number
  /** The measured span in process.hrtime µs (V8 profile clock), to cut a --cpu-prof profile to it. */
  windowUs?: [number, number]
}

/** CPU time (user + system) of this process since `since` (a process.cpuUsage()), in ms. */
export const cpuMsSince = (since: NodeJS.CpuUsage) => {
  const used = process.cpuUsage(since)
  return (used.user + used.system) / 1000
}

/** The one line `bench/tasks.ts` reads from a contender's stdout. */
export function report(r: ContenderReport) {
  process.stdout.write(`RESULT ${JSON.stringify(r)}\n`)
}
