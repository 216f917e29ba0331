// Celery task message protocol v2 (JSON), encoded and decoded without any I/O.
// Ground truth: captures of Celery 5.2.6 in test/fixtures/celery (README §1 and §4).

import { randomUUID } from 'node:crypto'
import { hostname } from 'node:os'
import type { HeaderFields } from 'rabbitmq-client'
import { describeJsonError } from '../infra/safe-errors.ts'

/** A Celery signature as it travels in the embed. */
export interface Signature {
  task: string
  args?: unknown[]
  kwargs?: Record<string, unknown>
  options?: Record<string, unknown>
  subtask_type?: string | null
  immutable?: boolean
  [key: string]: unknown
}

/** Third element of the body. `chain` is reversed: its last element runs next. */
export interface TaskEmbed {
  callbacks: Signature[] | null
  errbacks: Signature[] | null
  chain: Signature[] | null
  chord: Signature | null
}

export interface EncodeTaskOptions {
  name: string
  args?: unknown[]
  kwargs?: Record<string, unknown>
  taskId?: string
  /** Countdowns are the caller's business: pass now + countdown here. */
  eta?: Date | null
  expires?: Date | null
  retries?: number
  /** Defaults to the task's own id, as Celery does for a top-level task. */
  rootId?: string | null
  parentId?: string | null
  groupId?: string | null
  groupIndex?: number | null
  shadow?: string | null
  /** Celery sends 0 when none is given. */
  priority?: number
  replyTo?: string
  origin?: string
  ignoreResult?: boolean
  /** Seconds. Goes on the wire as [hard, soft] (Celery's order). */
  timeLimit?: { hard?: number | null; soft?: number | null }
  embed?: Partial<TaskEmbed>
  /** Extra headers, added after Celery's own (like apply_async(headers=...)). */
  headers?: Record<string, unknown>
  /** Clock for the AMQP `expiration` derived from `expires`. */
  now?: Date
}

/** Basic properties in rabbitmq-client's names; spread them into the publish envelope. */
export type TaskProperties = HeaderFields & { deliveryMode: 2; headers: Record<string, unknown> }

export interface EncodedTask {
  taskId: string
  body: Buffer
  properties: TaskProperties
}

/** What decodeTask reads: an AsyncMessage from rabbitmq-client fits. */
export interface IncomingProperties {
  contentType?: string | null
  contentEncoding?: string | null
  headers?: Record<string, unknown> | null
  correlationId?: string | null
  replyTo?: string | null
  priority?: number | null
  /** The headers came from JSON: they hold no bigint, so the scan for one is skipped. */
  jsonHeaders?: boolean
}

export interface DecodedTask {
  /** 1 when the fields came from a dict body (protocol v1 / hybrid), else 2. */
  protocol: 1 | 2
  id: string
  name: string
  args: unknown[]
  kwargs: Record<string, unknown>
  embed: TaskEmbed
  eta: Date | null
  expires: Date | null
  retries: number
  rootId: string | null
  parentId: string | null
  groupId: string | null
  groupIndex: number | null
  shadow: string | null
  timeLimit: { hard: number | null; soft: number | null }
  ignoreResult: boolean
  origin: string | null
  lang: string | null
  correlationId: string | null
  replyTo: string | null
  priority: number | null
  /** Every AMQP header (custom ones, x-death…), bigints turned into numbers where exact. */
  headers: Record<string, unknown>
}

export type DecodeFailureReason =
  | 'unsupported_content_type'
  | 'unsupported_content_encoding'
  | 'unsupported_compression'
  | 'invalid_json'
  | 'invalid_body'
  | 'missing_headers'
  | 'invalid_headers'

export type DecodeResult =
  | { ok: true; task: DecodedTask }
  | { ok: false; reason: DecodeFailureReason; message: string }

const DEFAULT_ORIGIN = `hotspot-${process.pid}@${hostname()}`
const EMBED_KEYS = ['callbacks', 'errbacks', 'chain', 'chord'] as const

export function encodeTask(opts: EncodeTaskOptions): EncodedTask {
  const { name, args = [], kwargs = {}, retries = 0, priority = 0 } = opts
  if (typeof name !== 'string' || name === '') throw new TypeError('task name must be a non-empty string')
  if (!Array.isArray(args)) throw new TypeError('args must be an array')
  if (!isPlainObject(kwargs)) throw new TypeError('kwargs must be a plain object')
  if (!Number.isSafeInteger(retries) || retries < 0) throw new RangeError('retries must be an integer >= 0')
  if (!Number.isInteger(priority) || priority < 0 || priority > 255)
    throw new RangeError('priority must be 0..255')
  const id = opts.taskId ?? randomUUID()
  const eta = opts.eta ? pyIsoformat(checkDate(opts.eta, 'eta'), true) : null
  const expires = opts.expires ? pyIsoformat(checkDate(opts.expires, 'expires'), true) : null

  // Key order is Celery's (Celery 5.2 sends these 16; 5.3+ adds stamped_headers/stamps, which we omit).
  const headers: Record<string, unknown> = {
    lang: 'py',
    task: name,
    id,
    shadow: opts.shadow ?? null,
    eta,
    expires,
    group: opts.groupId ?? null,
    group_index: opts.groupIndex ?? null,
    retries,
    timelimit: [seconds(opts.timeLimit?.hard, 'hard'), seconds(opts.timeLimit?.soft, 'soft')],
    root_id: opts.rootId === undefined ? id : opts.rootId,
    parent_id: opts.parentId ?? null,
    argsrepr: pyRepr(args, 1024),
    kwargsrepr: pyRepr(kwargs, 1024),
    origin: opts.origin ?? DEFAULT_ORIGIN,
    ignore_result: opts.ignoreResult ?? false,
  }
  for (const [key, value] of Object.entries(opts.headers ?? {})) {
    if (key in headers) throw new TypeError(`header ${key} is set by encodeTask, not by extra headers`)
    headers[key] = value
  }

  const embed = Object.fromEntries(EMBED_KEYS.map((k) => [k, opts.embed?.[k] ?? null]))
  const body = Buffer.from(pyJsonDumps([args, kwargs, embed]), 'utf8')

  const properties: TaskProperties = {
    contentType: 'application/json',
    contentEncoding: 'utf-8',
    headers: wireSafe(headers) as Record<string, unknown>,
    // deliveryMode is the wire field; durable is rabbitmq-client's typed alias for the same bit.
    deliveryMode: 2,
    durable: true,
    priority,
    correlationId: id,
  }
  if (opts.replyTo) properties.replyTo = opts.replyTo
  if (opts.expires) {
    // Celery also sets a broker TTL so an expired task need not reach a worker: int(seconds * 1000), >= 0.
    const ms = opts.expires.getTime() - (opts.now ?? new Date()).getTime()
    properties.expiration = String(Math.max(0, Math.trunc(ms)))
  }
  return { taskId: id, body, properties }
}

// rabbitmq-client writes a JS integer in the smallest AMQP type: 'b' int8, 's' int16, 'I' int32, 'l' int64.
// py-amqp (Celery's client) reads 's' as a *short string*, so 300 arrives as ',' and the rest of the table
// is garbage (checked against py-amqp's _read_item). A bigint is always written 'l', which py-amqp reads
// correctly for values >= 0; 0..127 as 'b' is read correctly too. Small negatives have no safe encoding.
export function wireSafe(value: unknown): unknown {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value > 127 ? BigInt(value) : value
  if (Array.isArray(value)) return value.map(wireSafe)
  if (isPlainObject(value)) {
    const out: Record<string, unknown> = {}
    for (const key of Object.keys(value)) setOwn(out, key, wireSafe(value[key]))
    return out
  }
  return value
}

function checkDate(date: Date, field: string): Date {
  const year = date.getUTCFullYear()
  if (Number.isNaN(date.getTime()) || year < 1 || year > 9999)
    throw new RangeError(`${field} is not a valid date`)
  return date
}

function seconds(value: number | null | undefined, which: string): number | null {
  if (value == null) return null
  if (!Number.isFinite(value) || value <= 0)
    throw new RangeError(`${which} time limit must be a positive number`)
  return value
}

/** Thrown inside decoding only, turned into a DecodeResult at the boundary. */
class Invalid extends Error {
  constructor(
    readonly reason: DecodeFailureReason,
    message: string,
  ) {
    super(message)
  }
}

const UTF8_NAMES = new Set(['utf-8', 'utf8'])
const utf8 = new TextDecoder('utf-8', { fatal: true })

/**
 * Decode a delivered task. `body` is the raw Buffer, or what rabbitmq-client already parsed (it JSON-parses
 * application/json bodies that carry no content_encoding).
 */
export function decodeTask(body: unknown, properties: IncomingProperties): DecodeResult {
  try {
    return { ok: true, task: decode(body, properties) }
  } catch (err) {
    if (err instanceof Invalid) return { ok: false, reason: err.reason, message: err.message }
    throw err
  }
}

function decode(body: unknown, props: IncomingProperties): DecodedTask {
  const type = props.contentType
  // Celery 5.2 crashes (worker exit) on a message without content_type; refuse it up front.
  if (!type)
    throw new Invalid('unsupported_content_type', 'content_type is missing; expected application/json')
  if (type.split(';')[0]?.trim().toLowerCase() !== 'application/json') {
    throw new Invalid(
      'unsupported_content_type',
      `content_type ${type} is not accepted, only application/json`,
    )
  }
  const encoding = props.contentEncoding
  if (encoding && !UTF8_NAMES.has(encoding.toLowerCase())) {
    throw new Invalid(
      'unsupported_content_encoding',
      `content_encoding ${encoding} is not accepted, only utf-8`,
    )
  }
  const rawHeaders = props.headers ?? {}
  if (!isPlainObject(rawHeaders)) throw new Invalid('invalid_headers', 'headers must be a table')
  // Copied only when a 64-bit AMQP header (a bigint) needs a number: most messages have none, and a copy of
  // every message's headers was a steady share of the worker's garbage.
  const headers = (
    !props.jsonHeaders && holdsBigint(rawHeaders) ? normalize(rawHeaders) : rawHeaders
  ) as Record<string, unknown>
  if (headers.compression != null) {
    throw new Invalid(
      'unsupported_compression',
      `compressed bodies (${String(headers.compression)}) are not accepted`,
    )
  }

  const value = parseBody(body)
  let protocol: 1 | 2 = 2
  let fields = headers
  let args: unknown
  let kwargs: unknown
  let embed: unknown
  if (Array.isArray(value)) {
    if (value.length !== 3)
      throw new Invalid('invalid_body', `body must be [args, kwargs, embed], got ${value.length} elements`)
    ;[args, kwargs, embed] = value
  } else if (isPlainObject(value)) {
    // Protocol v1 / hybrid: the fields live in the body, AMQP headers win (as in Celery's hybrid_to_proto2).
    protocol = 1
    fields = { ...value, group: value.group ?? value.taskset, ...headers }
    args = value.args ?? []
    kwargs = value.kwargs ?? {}
    embed = { callbacks: value.callbacks, errbacks: value.errbacks, chord: value.chord, chain: null }
  } else {
    throw new Invalid('invalid_body', 'body must be a JSON array [args, kwargs, embed]')
  }
  if (!Array.isArray(args)) throw new Invalid('invalid_body', 'args must be an array')
  if (!isPlainObject(kwargs)) throw new Invalid('invalid_body', 'kwargs must be an object')

  const name = text(fields, 'task')
  const id = text(fields, 'id')
  if (name === null || id === null) {
    const missing = name === null ? 'task' : 'id'
    throw new Invalid('missing_headers', `the ${missing} header is missing or empty`)
  }
  const [hard, soft] = timeLimit(fields.timelimit)
  return {
    protocol,
    id,
    name,
    args,
    kwargs,
    embed: readEmbed(embed),
    eta: date(fields, 'eta'),
    expires: date(fields, 'expires'),
    retries: integer(fields, 'retries') ?? 0,
    rootId: text(fields, 'root_id'),
    parentId: text(fields, 'parent_id'),
    groupId: text(fields, 'group'),
    groupIndex: integer(fields, 'group_index'),
    shadow: text(fields, 'shadow'),
    timeLimit: { hard, soft },
    ignoreResult: flag(fields, 'ignore_result'),
    origin: typeof fields.origin === 'string' ? fields.origin : null,
    lang: typeof fields.lang === 'string' ? fields.lang : null,
    correlationId: props.correlationId || null,
    replyTo: props.replyTo || null,
    priority: props.priority ?? null,
    headers,
  }
}

function parseBody(body: unknown): unknown {
  let source: string
  if (typeof body === 'string') source = body
  else if (body instanceof Uint8Array) {
    try {
      source = utf8.decode(body)
    } catch {
      throw new Invalid('invalid_json', 'body is not valid UTF-8')
    }
  } else return body
  try {
    return JSON.parse(source)
  } catch (err) {
    // Never the parser's own message: it quotes the body (personal data) into logs and the dead-letter header.
    throw new Invalid('invalid_json', `body is not valid JSON: ${describeJsonError(err)}`)
  }
}

function readEmbed(embed: unknown): TaskEmbed {
  if (!isPlainObject(embed)) throw new Invalid('invalid_body', 'embed (third body element) must be an object')
  const chord = embed.chord
  if (chord != null && !isSignature(chord))
    throw new Invalid('invalid_body', 'embed.chord must be a signature')
  return {
    callbacks: signatureList(embed, 'callbacks'),
    errbacks: signatureList(embed, 'errbacks'),
    chain: signatureList(embed, 'chain'),
    chord: chord ?? null,
  }
}

// Module-level helpers rather than closures in the per-message functions: the codec runs for every task, and
// a closure per call is an allocation per call.
function signatureList(embed: Record<string, unknown>, key: 'callbacks' | 'errbacks' | 'chain') {
  const v = embed[key]
  if (v == null) return null
  if (!Array.isArray(v) || !v.every(isSignature))
    throw new Invalid('invalid_body', `embed.${key} must be a list of signatures`)
  return v as Signature[]
}

function isSignature(v: unknown): v is Signature {
  return isPlainObject(v) && typeof v.task === 'string'
}

function text(fields: Record<string, unknown>, key: string): string | null {
  const v = fields[key]
  if (v == null || v === '') return null
  if (typeof v === 'string') return v
  throw new Invalid('invalid_headers', `${key} must be a string`)
}

function integer(fields: Record<string, unknown>, key: string): number | null {
  const v = fields[key]
  if (v == null) return null
  if (Number.isSafeInteger(v) && (v as number) >= 0) return v as number
  throw new Invalid('invalid_headers', `${key} must be an integer >= 0`)
}

function flag(fields: Record<string, unknown>, key: string): boolean {
  const v = fields[key]
  if (v == null) return false
  if (typeof v === 'boolean') return v
  throw new Invalid('invalid_headers', `${key} must be a boolean`)
}

function date(fields: Record<string, unknown>, key: string): Date | null {
  const v = fields[key]
  if (v == null) return null
  const parsed = v instanceof Date ? v : typeof v === 'string' ? parseIsoDate(v) : null
  if (parsed === null || Number.isNaN(parsed.getTime()))
    throw new Invalid('invalid_headers', `${key} must be an ISO-8601 date`)
  return parsed
}

const isSecondsOrNull = (x: unknown): x is number | null =>
  x === null || (typeof x === 'number' && Number.isFinite(x) && x >= 0)

function timeLimit(v: unknown): [number | null, number | null] {
  if (v == null) return [null, null]
  if (Array.isArray(v) && v.length === 2 && isSecondsOrNull(v[0]) && isSecondsOrNull(v[1]))
    return [v[0], v[1]]
  throw new Invalid('invalid_headers', 'timelimit must be [hard, soft], each a number of seconds or null')
}

const ISO =
  /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?(Z|[+-]\d{2}(?::?\d{2})?)?$/i

/**
 * Parse what Celery and JS write: `2030-01-02T03:04:05.678901+00:00`, `…Z`, or naive. A naive time is taken
 * as UTC (Celery's default timezone); precision below a millisecond is dropped.
 */
export function parseIsoDate(s: string): Date | null {
  const m = ISO.exec(s.trim())
  if (!m) return null
  type Six = [number, number, number, number, number, number]
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map((x) => Number(x ?? 0)) as Six
  if (hour > 23 || minute > 59 || second > 59) return null
  const ms = Number((m[7] ?? '').padEnd(3, '0').slice(0, 3))
  const utc = new Date(Date.UTC(year, month - 1, day, hour, minute, second, ms))
  // Date.UTC rolls 31 Feb over into March; a real calendar date reads back unchanged.
  if (utc.getUTCFullYear() !== year || utc.getUTCMonth() !== month - 1 || utc.getUTCDate() !== day)
    return null
  const zone = m[8] ?? 'Z'
  if (zone.toUpperCase() === 'Z') return utc
  const digits = zone.slice(1).replace(':', '')
  const oh = Number(digits.slice(0, 2))
  const om = Number(digits.slice(2) || '0')
  if (oh > 23 || om > 59) return null
  const sign = zone.startsWith('-') ? -1 : 1
  return new Date(utc.getTime() - sign * (oh * 60 + om) * 60_000)
}

// Integers may arrive as bigint (AMQP 'l'/'L' through some clients); plain numbers are easier downstream.
// A plain loop (no entries/fromEntries pairs): this copies the headers of every delivered task.
function normalize(value: unknown): unknown {
  if (typeof value === 'bigint') {
    return value >= MIN_SAFE_BIGINT && value <= MAX_SAFE_BIGINT ? Number(value) : value
  }
  if (Array.isArray(value)) return value.map(normalize)
  if (isPlainObject(value)) {
    const out: Record<string, unknown> = {}
    for (const key of Object.keys(value)) setOwn(out, key, normalize(value[key]))
    return out
  }
  return value
}

function holdsBigint(value: unknown): boolean {
  if (typeof value === 'bigint') return true
  if (Array.isArray(value)) return value.some(holdsBigint)
  // for…in rather than Object.keys: no array per object, and this runs on every delivered message's headers.
  if (isPlainObject(value))
    for (const key in value) if (Object.hasOwn(value, key) && holdsBigint(value[key])) return true
  return false
}

const MIN_SAFE_BIGINT = BigInt(Number.MIN_SAFE_INTEGER)
const MAX_SAFE_BIGINT = BigInt(Number.MAX_SAFE_INTEGER)

/** `out[key] = value`, except that a `__proto__` key (a header may have any name) stays a plain property. */
function setOwn(out: Record<string, unknown>, key: string, value: unknown) {
  if (key === '__proto__')
    Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true })
  else out[key] = value
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false
  const proto = Object.getPrototypeOf(v)
  return proto === Object.prototype || proto === null
}

// Python-compatible text. Celery's JSON is json.dumps with its defaults (", " and ": " separators, every
// non-ASCII character escaped as \\uXXXX), and its argsrepr/kwargsrepr are Python repr(); matching them
// byte for byte keeps hotspot's messages and results indistinguishable from Celery's.

const JSON_SHORT_ESCAPES: Record<string, string> = {
  '"': '\\"',
  '\\': '\\\\',
  '\b': '\\b',
  '\f': '\\f',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
}

const NEEDS_JSON_ESCAPE = /["\\]|[^\x20-\x7e]/

export function pyJsonString(s: string): string {
  if (!NEEDS_JSON_ESCAPE.test(s)) return `"${s}"` // ids, names, states: the common case
  // Per UTF-16 code unit, so astral characters become surrogate-pair escapes as in Python.
  const body = s.replace(
    /["\\]|[^\x20-\x7e]/g,
    (ch) => JSON_SHORT_ESCAPES[ch] ?? `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`,
  )
  return `"${body}"`
}

/** json.dumps(value) as Python writes it. Throws on values JSON cannot carry (NaN, functions, cycles). */
export function pyJsonDumps(value: unknown): string {
  return dumpJson(value, undefined)
}

// Loops and string concatenation rather than entries/filter/map/join: two result JSONs per task go through here.
// `seen` (for cycles) is made at the first object: a primitive (a no-op task's null result) needs none.
function dumpJson(v: unknown, seen: Set<object> | undefined): string {
  if (v === null || v === undefined) return 'null'
  if (typeof v === 'boolean') return v ? 'true' : 'false'
  if (typeof v === 'string') return pyJsonString(v)
  if (typeof v === 'bigint') return v.toString()
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new TypeError(`${v} cannot be sent as JSON`)
    return JSON.stringify(v)
  }
  if (typeof v !== 'object') throw new TypeError(`a ${typeof v} cannot be sent as JSON`)
  const withJson = v as { toJSON?: () => unknown }
  if (typeof withJson.toJSON === 'function') return dumpJson(withJson.toJSON(), seen)
  seen ??= new Set()
  if (seen.has(v)) throw new TypeError('cyclic structure cannot be sent as JSON')
  seen.add(v)
  let out: string
  if (Array.isArray(v)) {
    out = '['
    for (let i = 0; i < v.length; i++) out += (i === 0 ? '' : ', ') + dumpJson(v[i], seen)
    out += ']'
  } else {
    out = '{'
    let first = true
    for (const key of Object.keys(v)) {
      const x = (v as Record<string, unknown>)[key]
      if (x === undefined || typeof x === 'function' || typeof x === 'symbol') continue
      out += `${first ? '' : ', '}${pyJsonString(key)}: ${dumpJson(x, seen)}`
      first = false
    }
    out += '}'
  }
  seen.delete(v)
  return out
}

// Python's str.isprintable() is false for these categories (space excepted).
const NON_PRINTABLE = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Zs}]/u

function pyStrRepr(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'"
  let out = ''
  for (const ch of s) {
    const cp = ch.codePointAt(0) ?? 0
    if (ch === quote || ch === '\\') out += `\\${ch}`
    else if (ch === '\n') out += '\\n'
    else if (ch === '\r') out += '\\r'
    else if (ch === '\t') out += '\\t'
    else if (ch === ' ' || !NON_PRINTABLE.test(ch)) out += ch
    else if (cp < 0x100) out += `\\x${cp.toString(16).padStart(2, '0')}`
    else if (cp < 0x10000) out += `\\u${cp.toString(16).padStart(4, '0')}`
    else out += `\\U${cp.toString(16).padStart(8, '0')}`
  }
  return quote + out + quote
}

// A module-level function, not a closure in pyRepr: every published task runs it twice (argsrepr, kwargsrepr).
function repr(v: unknown): string {
  if (v === null || v === undefined) return 'None'
  if (typeof v === 'boolean') return v ? 'True' : 'False'
  if (typeof v === 'string') return pyStrRepr(v)
  if (typeof v === 'number') return pyNumberRepr(v)
  if (typeof v === 'bigint') return v.toString()
  if (Array.isArray(v)) return `[${v.map(repr).join(', ')}]`
  if (typeof v === 'object') {
    const withJson = v as { toJSON?: () => unknown }
    if (typeof withJson.toJSON === 'function') return repr(withJson.toJSON())
    return `{${Object.entries(v)
      .map(([k, x]) => `${pyStrRepr(k)}: ${repr(x)}`)
      .join(', ')}}`
  }
  return pyStrRepr(String(v))
}

function pyNumberRepr(n: number): string {
  if (Number.isInteger(n)) return BigInt(n).toString()
  if (!Number.isFinite(n)) return Number.isNaN(n) ? 'nan' : n > 0 ? 'inf' : '-inf'
  // Python switches to exponent form below 1e-4 (JS below 1e-6) and pads the exponent to two digits.
  const text = Math.abs(n) < 1e-4 ? n.toExponential() : String(n)
  return text.replace(/e([+-])(\d)$/, (_, sign: string, digit: string) => `e${sign}0${digit}`)
}

/** repr() of the JSON value as Python would print it after decoding (lists, dicts, None, True…). */
export function pyRepr(value: unknown, maxLength = Number.POSITIVE_INFINITY): string {
  const out = repr(value)
  // Informational only; Celery caps it at 1024 characters too (saferepr), more subtly.
  return out.length > maxLength ? `${out.slice(0, maxLength - 3)}...` : out
}

// The last stamp made: a busy worker stamps many results within the same millisecond.
let lastStampMs = Number.NaN
let lastStamp = ''

/** datetime.isoformat() of a UTC time: microseconds only when non-zero, `+00:00` when aware. */
export function pyIsoformat(date: Date, aware: boolean): string {
  const time = date.getTime()
  if (time !== lastStampMs) {
    const ms = date.getUTCMilliseconds()
    const fraction = ms === 0 ? '' : `.${String(ms).padStart(3, '0')}000`
    lastStamp = date.toISOString().slice(0, 19) + fraction
    lastStampMs = time
  }
  return aware ? `${lastStamp}+00:00` : lastStamp
}
