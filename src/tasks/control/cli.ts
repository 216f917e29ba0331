// `hotspot inspect …` and `hotspot control …`: Celery's `celery inspect` / `celery control` for any worker on the
// broker, Python or hotspot. Arguments are read with node's util.parseArgs (no CLI library for two commands).
import { parseArgs } from 'node:util'
import type { CeleryBus } from '../broker/celery-bus.ts'
import { type BroadcastOptions, broadcast } from './client.ts'

export const CONTROL_USAGE = `usage: hotspot inspect <command> [args] [-d name@host,…] [-t seconds]
       hotspot control <command> [args] [-d name@host,…] [-t seconds]

  inspect ping | stats | active | reserved | scheduled | registered | revoked | active_queues | conf | clock
  inspect query_task <task id>…
  control revoke <task id>… [--terminate] [--signal SIGTERM]
  control terminate <signal> <task id>…
  control rate_limit <task name> <rate, like 10/s>
  control time_limit <task name> <soft seconds> [hard seconds]
  control enable_events | disable_events | heartbeat | shutdown

  -d, --destination  only these workers (comma-separated node names); default: every worker
  -t, --timeout      seconds to wait for replies (default 1)
Prints {"name@host": reply, …} as JSON; exits 69 when no worker replied (as celery does).`

export class UsageError extends Error {}

const INSPECT_PLAIN: Record<string, Record<string, unknown>> = {
  ping: {},
  stats: {},
  active: { safe: null },
  reserved: {},
  scheduled: {},
  registered: { taskinfoitems: [] },
  revoked: {},
  active_queues: {},
  conf: { with_defaults: false },
  clock: {},
}
const CONTROL_PLAIN = ['enable_events', 'disable_events']
/** Commands a worker does not answer: sent without a reply queue. */
const CONTROL_SILENT = ['heartbeat', 'shutdown']

const seconds = (raw: string | undefined, what: string) => {
  const n = Number(raw)
  if (raw === undefined || raw === '' || !Number.isFinite(n) || n < 0)
    throw new UsageError(`${what} must be a number of seconds, got "${raw ?? ''}"`)
  return n
}

/** Turns argv (after `inspect` / `control`) into one broadcast, as Celery's CLI would send it. */
export function controlRequest(kind: 'inspect' | 'control', argv: string[]): BroadcastOptions {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: false,
    options: {
      destination: { type: 'string', short: 'd' },
      timeout: { type: 'string', short: 't' },
      terminate: { type: 'boolean' },
      signal: { type: 'string', short: 's' },
      json: { type: 'boolean', short: 'j' }, // accepted for celery's habit: the output is always JSON
    },
  })
  const [method = '', ...rest] = positionals
  const destination =
    typeof values.destination === 'string'
      ? values.destination
          .split(',')
          .map((d) => d.trim())
          .filter(Boolean)
      : undefined
  const timeoutMs = values.timeout === undefined ? 1000 : seconds(String(values.timeout), '--timeout') * 1000
  const common = { destination, timeoutMs }
  const ids = (list: string[]) => {
    if (list.length === 0) throw new UsageError(`${kind} ${method} needs at least one task id`)
    return list
  }
  if (kind === 'inspect') {
    if (method === 'query_task') return { ...common, method, arguments: { ids: ids(rest) } }
    const args = INSPECT_PLAIN[method]
    if (!args || rest.length) throw new UsageError(`unknown inspect command "${[method, ...rest].join(' ')}"`)
    return { ...common, method, arguments: args }
  }
  switch (method) {
    case 'revoke':
      return {
        ...common,
        method,
        arguments: {
          task_id: ids(rest),
          terminate: values.terminate === true,
          signal: typeof values.signal === 'string' ? values.signal : 'SIGTERM',
        },
      }
    case 'terminate': {
      const [signal, ...taskIds] = rest
      if (!signal) throw new UsageError('control terminate needs a signal and task ids')
      return { ...common, method: 'revoke', arguments: { task_id: ids(taskIds), terminate: true, signal } }
    }
    case 'rate_limit': {
      const [taskName, rateLimit] = rest
      if (!taskName || !rateLimit) throw new UsageError('control rate_limit needs a task name and a rate')
      return { ...common, method, arguments: { task_name: taskName, rate_limit: rateLimit } }
    }
    case 'time_limit': {
      const [taskName, soft, hard] = rest
      if (!taskName) throw new UsageError('control time_limit needs a task name and a soft limit')
      const arguments_ = {
        task_name: taskName,
        soft: seconds(soft, 'soft'),
        hard: hard === undefined ? null : seconds(hard, 'hard'),
      }
      return { ...common, method, arguments: arguments_ }
    }
    default:
      if (CONTROL_PLAIN.includes(method) && !rest.length) return { ...common, method }
      if (CONTROL_SILENT.includes(method) && !rest.length) return { ...common, method, reply: false }
      throw new UsageError(`unknown control command "${[method, ...rest].join(' ')}"`)
  }
}

/** Sends it and prints the replies, merged as `{node: reply}`; the exit code (69: nobody replied). */
export async function runControlRequest(
  bus: CeleryBus,
  request: BroadcastOptions,
  write: (text: string) => void,
  say: (line: string) => void,
): Promise<number> {
  const replies = await broadcast(bus, request)
  if (request.reply === false) {
    say(`${request.method} sent`)
    return 0
  }
  if (replies.length === 0) {
    say('Error: No nodes replied within time constraint')
    return 69
  }
  write(`${JSON.stringify(Object.assign({}, ...replies), null, 2)}\n`)
  return 0
}
