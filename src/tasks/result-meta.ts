// The JSON Celery's Redis result backend stores under celery-task-meta-<id> (and PUBLISHes on the same name),
// built and parsed without I/O. Ground truth: test/fixtures/celery README §3 (Celery 5.2.6 captures).

import { parseIsoDate, pyIsoformat, pyJsonDumps, pyJsonString } from './message.ts'

const RESULT_KEY_PREFIX = 'celery-task-meta-'
/** Celery's result_expires default; every write is a SETEX with it. */
export const RESULT_EXPIRES_SECONDS = 86_400

/** Redis key, and also the pub/sub channel waiters subscribe to. */
export function resultKey(taskId: string): string {
  return RESULT_KEY_PREFIX + taskId
}

/** Celery's states. PENDING is never stored: a missing key means PENDING. */
export type TaskState =
  | 'PENDING'
  | 'RECEIVED'
  | 'STARTED'
  | 'RETRY'
  | 'SUCCESS'
  | 'FAILURE'
  | 'REVOKED'
  | 'REJECTED'
  | 'IGNORED'

/** States after which the value never changes; only these carry a date_done. */
const READY_STATES: ReadonlySet<string> = new Set(['SUCCESS', 'FAILURE', 'REVOKED'])
/** States whose `result` is a serialized exception. */
const EXCEPTION_STATES: ReadonlySet<string> = new Set(['RETRY', 'FAILURE', 'REVOKED'])

/** Celery's JSON exception: Python re-raises `exc_module.exc_type(*exc_message)`. */
export interface CeleryException {
  exc_type: string
  exc_message: unknown[]
  exc_module: string
}

/**
 * Build the exception shape. `module` is where a Python client looks the class up: 'builtins' makes
 * ValueError/TypeError/RuntimeError real; an unknown name or module becomes a synthesized Exception subclass.
 */
export function celeryException(
  type: string,
  message: string | unknown[],
  module = 'builtins',
): CeleryException {
  return { exc_type: type, exc_message: Array.isArray(message) ? message : [message], exc_module: module }
}

/** One entry of `children`, as Celery writes a spawned task: [[id, null], null]. */
export function childRef(taskId: string): [[string, null], null] {
  return [[taskId, null], null]
}

/** The request fields Celery adds with result_extended=True. */
export interface ExtendedMeta {
  name: string | null
  args: unknown[] | null
  kwargs: Record<string, unknown> | null
  worker: string | null
  retries: number | null
  queue: string | null
}

export interface ResultMetaInput {
  taskId: string
  status: TaskState
  /** STARTED: {pid, hostname}; SUCCESS: the return value; RETRY/FAILURE/REVOKED: a CeleryException. */
  result?: unknown
  traceback?: string | null
  children?: unknown[]
  /** Written only when set, as Celery does for group/chord members. */
  groupId?: string | null
  /** Written only when set (a retried task carries its own id here). */
  parentId?: string | null
  extended?: ExtendedMeta
  /** Clock for date_done. */
  now?: Date
}

/** The exact text Celery stores (and publishes), key order included. */
export function buildResultMeta(input: ResultMetaInput): string {
  // Celery 5.2 writes naive UTC (datetime.utcnow().isoformat()); newer versions append +00:00.
  const dateDone = READY_STATES.has(input.status) ? pyIsoformat(input.now ?? new Date(), false) : null
  // Written out rather than built as an object and walked: a worker writes two of these per task, and this is
  // the same text as json.dumps of Celery's dict with a fraction of the work.
  let out = `{"status": ${pyJsonString(input.status)}, "result": ${pyJsonDumps(input.result ?? null)}`
  out += `, "traceback": ${input.traceback == null ? 'null' : pyJsonString(input.traceback)}`
  out += `, "children": ${input.children?.length ? pyJsonDumps(input.children) : '[]'}`
  out += `, "date_done": ${dateDone === null ? 'null' : pyJsonString(dateDone)}`
  if (input.groupId) out += `, "group_id": ${pyJsonString(input.groupId)}`
  if (input.parentId) out += `, "parent_id": ${pyJsonString(input.parentId)}`
  // result_extended's request fields go between parent_id and task_id, in their own order.
  if (input.extended)
    for (const [key, value] of Object.entries(input.extended))
      if (value !== undefined) out += `, ${pyJsonString(key)}: ${pyJsonDumps(value)}`
  return `${out}, "task_id": ${pyJsonString(input.taskId)}}`
}

/** What the HTTP API shows of a stored value. */
export interface TaskStatusView {
  taskId: string | null
  status: string
  /** The value for SUCCESS and custom states; absent for PENDING, STARTED and exception states. */
  result?: unknown
  /** For RETRY/FAILURE/REVOKED. */
  error?: { type: string; message: string; module: string | null }
  dateDone: Date | null
}

export type ParseMetaResult = { ok: true; view: TaskStatusView } | { ok: false; message: string }

const NO_RESULT: ReadonlySet<string> = new Set(['PENDING', 'STARTED'])

/**
 * Parse a stored value (GET celery-task-meta-<id>). `null` (no key) is PENDING. Accepts what Python
 * accepts: minimal {"status","result","task_id"}, exc_message as a string, exc_module missing.
 */
export function parseResultMeta(raw: string | Buffer | null): ParseMetaResult {
  if (raw === null) return { ok: true, view: { taskId: null, status: 'PENDING', dateDone: null } }
  let meta: unknown
  try {
    meta = JSON.parse(raw.toString())
  } catch {
    return { ok: false, message: 'stored result is not valid JSON' }
  }
  if (meta === null || typeof meta !== 'object' || Array.isArray(meta)) {
    return { ok: false, message: 'stored result is not a JSON object' }
  }
  const m = meta as Record<string, unknown>
  if (typeof m.status !== 'string' || m.status === '')
    return { ok: false, message: 'stored result has no status' }

  const view: TaskStatusView = {
    taskId: typeof m.task_id === 'string' ? m.task_id : null,
    status: m.status,
    dateDone: typeof m.date_done === 'string' ? parseIsoDate(m.date_done) : null,
  }
  if (EXCEPTION_STATES.has(m.status)) view.error = readException(m.result)
  else if (!NO_RESULT.has(m.status)) view.result = m.result ?? null
  return { ok: true, view }
}

function readException(value: unknown): TaskStatusView['error'] {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return { type: 'Exception', message: value == null ? '' : String(value), module: null }
  }
  const exc = value as Record<string, unknown>
  const type = typeof exc.exc_type === 'string' ? exc.exc_type : 'Exception'
  const module = typeof exc.exc_module === 'string' ? exc.exc_module : null
  return { type, message: excMessage(exc.exc_message), module }
}

// exc_message is the exception's args: str(exc) is the single argument, or all of them.
function excMessage(args: unknown): string {
  const list = Array.isArray(args) ? args : args == null ? [] : [args]
  return list.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(', ')
}
