import { hostname } from 'node:os'
import type { Logger } from '../../infra/logger.ts'
import type { BusExchange, BusMessage, BusSubscription, CeleryBus } from '../broker/celery-bus.ts'
import type { LamportClock } from '../celeryev/clock.ts'
import { parseRate } from '../rate-limit.ts'
import type { RevokedStore } from './revoked.ts'

export { LamportClock } from '../celeryev/clock.ts'

/** Celery's remote control exchanges (kombu.pidbox with namespace `celery`, type fanout). */
export const PIDBOX_EXCHANGE = 'celery.pidbox'
export const REPLY_EXCHANGE = 'reply.celery.pidbox'

/** Celery's node name (`name@host`): WORKER_NAME, else one per process. */
export function nodeName(name?: string) {
  return name ?? `hotspot-${process.pid}@${hostname()}`
}

/** A task being run, as `inspect active` reports it (Celery's Request.info()). */
export interface ActiveTask {
  id: string
  name: string
  args: unknown[]
  kwargs: Record<string, unknown>
  queue: string
  timeStart: number
  /** Aborts the task's signal (revoke with terminate). */
  abort: Pick<AbortController, 'abort'>
}

export interface MailboxState {
  hostname: string
  active: Map<string, ActiveTask>
  registered(): string[]
  processed: Map<string, number>
  startedAt: number
  concurrency: number
  prefetch: number
  revoked: RevokedStore
  log: Logger
  onShutdown(): void
  onEvents?(enabled: boolean): boolean
  /** The registered task's options, which `rate_limit` / `time_limit` change (Celery sets them on the task). */
  taskOptions(name: string): Record<string, unknown> | undefined
  /** The worker's Lamport clock (Celery's app.clock), shared with its event dispatcher. */
  clock: LamportClock
  /** Celery's `heartbeat` command: send a worker-heartbeat now (Flower's and `celery events`' wake-up). */
  onHeartbeat?(): void
}

type Reply = unknown
type Handler = (state: MailboxState, args: Record<string, unknown>) => Promise<Reply> | Reply

const ok = (value: unknown) => ({ ok: value })
const nok = (value: unknown) => ({ error: value })
const ids = (value: unknown): string[] =>
  (Array.isArray(value) ? value : value === undefined || value === null ? [] : [value]).map(String)

function info(state: MailboxState, task: ActiveTask) {
  return {
    id: task.id,
    name: task.name,
    args: task.args,
    kwargs: task.kwargs,
    type: task.name,
    hostname: state.hostname,
    time_start: task.timeStart / 1000,
    acknowledged: false, // hotspot acks late, after the outcome is stored
    delivery_info: { exchange: '', routing_key: task.queue, priority: 0, redelivered: false },
    worker_pid: process.pid,
  }
}

/** The commands, with Celery's names and reply shapes (celery/worker/control.py; fixtures/control_events.json). */
const HANDLERS: Record<string, Handler> = {
  ping: () => ok('pong'),
  registered: (s) => s.registered(),
  active: (s) => [...s.active.values()].map((t) => info(s, t)),
  reserved: () => [], // hotspot holds no reserved requests: prefetched messages stay in the consumer
  scheduled: () => [], // etas wait in the broker's delay queues, never in a worker
  revoked: (s) => s.revoked.list(),
  query_task: (s, a) =>
    Object.fromEntries(
      ids(a.ids)
        .map((id) => s.active.get(id))
        .filter((t): t is ActiveTask => t !== undefined)
        .map((t) => [t.id, ['active', info(s, t)]]),
    ),
  stats: (s) => ({
    total: Object.fromEntries(s.processed),
    pid: process.pid,
    clock: String(s.clock.value),
    uptime: Math.round((Date.now() - s.startedAt) / 1000),
    pool: {
      'max-concurrency': s.concurrency,
      processes: [process.pid],
      'max-tasks-per-child': null,
      'put-guarded-by-semaphore': false,
      timeouts: [],
    },
    prefetch_count: s.prefetch,
    rusage: { utime: process.cpuUsage().user / 1e6, stime: process.cpuUsage().system / 1e6 },
  }),
  async revoke(s, a) {
    const taskIds = ids(a.task_id)
    await s.revoked.add(taskIds)
    if (a.terminate) {
      const terminated = taskIds.filter((id) => s.active.has(id))
      for (const id of terminated) s.active.get(id)?.abort.abort(new Error('revoked'))
      return ok(terminated.length ? `terminate: ${terminated.join(', ')}` : 'terminate: tasks unknown')
    }
    return ok(`tasks ${taskIds.join(', ')} flagged as revoked`)
  },
  // celery/worker/control.py rate_limit: validates with rate(), sets the task's rate, resets its bucket.
  rate_limit(s, a) {
    const value = a.rate_limit
    try {
      parseRate(value)
    } catch (error) {
      return nok(`Invalid rate limit string: ValueError(${JSON.stringify((error as Error).message)})`)
    }
    const options = s.taskOptions(String(a.task_name))
    if (!options) return nok('unknown task')
    options.rateLimit = value || undefined
    s.log.info({ task: a.task_name, rateLimit: value }, 'new rate limit from remote control')
    return ok(value ? 'new rate limit set successfully' : 'rate limit disabled successfully')
  },
  // celery/worker/control.py time_limit: the task's soft_time_limit / time_limit, null for none.
  time_limit(s, a) {
    const options = s.taskOptions(String(a.task_name))
    if (!options) return nok('unknown task')
    const seconds = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : undefined)
    options.softTimeLimit = seconds(a.soft)
    options.timeLimit = seconds(a.hard)
    s.log.info(
      { task: a.task_name, soft: a.soft ?? null, hard: a.hard ?? null },
      'new time limits from remote control',
    )
    return ok('time limits set successfully')
  },
  terminate: (s, a) => HANDLERS.revoke?.(s, { ...a, terminate: true }),
  enable_events: (s) => ok(s.onEvents?.(true) ? 'task events enabled' : 'task events already enabled'),
  disable_events: (s) => ok(s.onEvents?.(false) ? 'task events disabled' : 'task events already disabled'),
  shutdown(s) {
    s.log.warn('Got shutdown from remote')
    setImmediate(() => s.onShutdown())
    return undefined
  },
  heartbeat(s) {
    s.onHeartbeat?.()
    return undefined
  },
}

interface ControlMessage {
  method?: unknown
  arguments?: unknown
  destination?: unknown
  reply_to?: { exchange?: unknown; routing_key?: unknown }
  ticket?: unknown
}

/** Whether a message addressed by destination (list of names) or none is for this node (kombu's Node.handle_message). */
function isForMe(body: ControlMessage, me: string) {
  return !Array.isArray(body.destination) || body.destination.includes(me)
}

/** kombu's pidbox exchanges (Mailbox.exchange / reply_exchange): transient, fanout and direct. */
export const PIDBOX: BusExchange = { name: PIDBOX_EXCHANGE, type: 'fanout', durable: false }
export const PIDBOX_REPLY: BusExchange = { name: REPLY_EXCHANGE, type: 'direct', durable: false }

/**
 * The worker's remote control mailbox: a queue `<hostname>.celery.pidbox` on the fanout exchange `celery.pidbox`,
 * declared exactly as kombu does (transient, auto-delete, 300 s message TTL, 10 s expiry; on Redis kombu's
 * PSUBSCRIBE on `/{db}.celery.pidbox`), replies published to `reply.celery.pidbox` with the caller's routing key,
 * as `{hostname: reply}`. A malformed message is logged and ignored, never fatal.
 */
export function createMailbox(bus: CeleryBus, state: MailboxState) {
  const queue = `${state.hostname}.celery.pidbox`
  let subscription: BusSubscription | undefined

  async function dispatch(body: ControlMessage) {
    const method = typeof body.method === 'string' ? body.method : ''
    const args =
      body.arguments && typeof body.arguments === 'object' ? (body.arguments as Record<string, unknown>) : {}
    const handler = Object.hasOwn(HANDLERS, method) ? HANDLERS[method] : undefined
    let reply: Reply
    try {
      reply = handler ? await handler(state, args) : nok(`KeyError('${method}')`)
    } catch (error) {
      state.log.warn({ err: error, method }, 'remote control command failed')
      reply = nok(error instanceof Error ? error.message : String(error))
    }
    const to = body.reply_to
    if (method === 'shutdown' || !to || typeof to.routing_key !== 'string') return
    const exchange = typeof to.exchange === 'string' ? { ...PIDBOX_REPLY, name: to.exchange } : PIDBOX_REPLY
    await bus.publish(
      exchange,
      to.routing_key,
      { [state.hostname]: reply },
      { ticket: body.ticket ?? null, clock: state.clock.forward() },
    )
  }

  async function onMessage(msg: BusMessage) {
    try {
      const raw = msg.body
      if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new Error('not a JSON object')
      const body = raw as ControlMessage
      state.clock.adjust(msg.headers.clock ?? 0)
      const expires = Number(msg.headers.expires ?? 0)
      if (expires && expires * 1000 < Date.now()) return // the caller stopped waiting
      if (isForMe(body, state.hostname)) await dispatch(body)
    } catch (error) {
      state.log.warn({ err: error }, 'malformed remote control message ignored')
    }
  }

  return {
    hostname: state.hostname,
    start() {
      subscription = bus.consume(
        {
          queue,
          exchange: PIDBOX,
          routingKey: '',
          arguments: { 'x-message-ttl': 300_000, 'x-expires': 10_000 },
        },
        onMessage,
      )
      const { ready } = subscription
      // Bounded: an unreachable broker must not hold the worker's start-up; the consumer subscribes when it can.
      return new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          state.log.warn('pidbox mailbox not subscribed within 30 s; remote control waits for the broker')
          resolve()
        }, 30_000)
        ready.then(
          () => {
            clearTimeout(timer)
            resolve()
          },
          () => {}, // logged by the bus; the timer resolves
        )
      })
    },
    async stop() {
      await subscription?.close()
    },
  }
}
