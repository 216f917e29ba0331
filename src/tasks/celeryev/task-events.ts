// The fields of Celery's task events, as its worker sends them (celery/worker/strategy.py, request.py) and
// its producer (celery/app/amqp.py): test/fixtures/celery/fixtures/control_events.json is the wire truth.
import { type DecodedTask, type EncodeTaskOptions, pyIsoformat, pyRepr } from '../message.ts'
import type { CeleryException } from '../result-meta.ts'
import type { EventFields } from './dispatcher.ts'

/** Celery's resultrepr_maxsize and argsrepr cap. */
const REPR_MAX = 1024

const iso = (date: Date | null | undefined) => (date ? pyIsoformat(date, true) : null)
const header = (task: DecodedTask, name: string, fallback: unknown) => {
  const value = task.headers[name]
  return typeof value === 'string' ? value : pyRepr(fallback, REPR_MAX)
}

/** `task-received`: args and kwargs are the message's argsrepr / kwargsrepr (Python repr strings). */
export const receivedFields = (task: DecodedTask): EventFields => ({
  uuid: task.id,
  name: task.name,
  args: header(task, 'argsrepr', task.args),
  kwargs: header(task, 'kwargsrepr', task.kwargs),
  root_id: task.rootId,
  parent_id: task.parentId,
  retries: task.retries,
  eta: iso(task.eta),
  expires: iso(task.expires),
})

/** `task-sent`, from the producer: the received fields plus where the message went. */
export const sentFields = (opts: EncodeTaskOptions, taskId: string, queue: string): EventFields => ({
  uuid: taskId,
  root_id: opts.rootId === undefined ? taskId : opts.rootId,
  parent_id: opts.parentId ?? null,
  name: opts.name,
  args: pyRepr(opts.args ?? [], REPR_MAX),
  kwargs: pyRepr(opts.kwargs ?? {}, REPR_MAX),
  retries: opts.retries ?? 0,
  eta: iso(opts.eta),
  expires: iso(opts.expires),
  queue,
  exchange: '',
  routing_key: queue,
})

/** `task-succeeded`: the result's repr and the run time in seconds. */
export const succeededFields = (taskId: string, value: unknown, runtime: number): EventFields => ({
  uuid: taskId,
  result: pyRepr(value, REPR_MAX),
  runtime,
})

/** Python's repr of the exception: `ValueError('boom')`. */
export const exceptionRepr = (exc: CeleryException) =>
  `${exc.exc_type}(${exc.exc_message.map((a) => pyRepr(a)).join(', ')})`

/** `task-failed` and `task-retried`. */
export const failureFields = (taskId: string, exc: CeleryException, traceback: string): EventFields => ({
  uuid: taskId,
  exception: exceptionRepr(exc),
  traceback,
})

/** `task-revoked`: terminated with SIGTERM's number (a string, as Celery sends it), or expired. */
export const revokedFields = (taskId: string, reason: 'revoked' | 'terminated' | 'expired'): EventFields => ({
  uuid: taskId,
  terminated: reason === 'terminated',
  signum: reason === 'terminated' ? '15' : null,
  expired: reason === 'expired',
})
