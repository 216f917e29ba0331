/**
 * kombu's Redis transport (kombu 5.2, kombu/transport/redis.py and virtual/base.py), as plain data: key names,
 * priority lists and the JSON envelope a message travels in. Checked against messages captured from Python
 * Celery (test/fixtures/celery/redis-broker/).
 */
import { randomUUID } from 'node:crypto'
import type { RawMessage } from '../../producer.ts'
import type { BrokerMessage } from '../types.ts'

/** kombu's separator inside binding members and priority list names. */
export const SEP = '\x06\x16'
export const PRIORITY_STEPS = [0, 3, 6, 9] as const
export const UNACKED = 'unacked'
export const UNACKED_INDEX = 'unacked_index'
export const UNACKED_MUTEX = 'unacked_mutex'
/** kombu's `unacked_mutex_expire`: 5 minutes. */
export const UNACKED_MUTEX_EXPIRE_MS = 300_000
/** kombu's default visibility timeout: 1 hour. */
export const DEFAULT_VISIBILITY_TIMEOUT_S = 3600
/**
 * hotspot's own (kombu has none: Celery holds countdowns in worker memory): a sorted set of messages waiting for
 * their time, scored by due time in ms, each member `<byte length of the list key>:<list key><envelope>`.
 */
export const DELAYED = '_hotspot.delayed'
export const delayedMember = (listKey: string, envelope: string) =>
  `${Buffer.byteLength(listKey)}:${listKey}${envelope}`

export const bindingKey = (exchange: string) => `_kombu.binding.${exchange}`
export const bindingMember = (routingKey: string, pattern: string, queue: string) =>
  [routingKey, pattern, queue].join(SEP)

/** kombu's `priority()`: the highest step not above n (0..9, clamped as `_get_message_priority` does). */
export function priorityStep(priority: number | undefined | null): number {
  const n = Math.max(0, Math.min(9, Math.trunc(Number(priority ?? 0)) || 0))
  let step = 0
  for (const s of PRIORITY_STEPS) if (s <= n) step = s
  return step
}

/** kombu's `_q_for_pri`: `celery` for priority 0-2, `celery\x06\x163` for 3-5, and so on. */
export function queueKey(queue: string, priority?: number | null): string {
  const step = priorityStep(priority)
  return step ? `${queue}${SEP}${step}` : queue
}

/** The lists a consumer reads, in BRPOP's order: priority 0 (kombu's highest on Redis) first. */
export const consumeKeys = (queue: string) => PRIORITY_STEPS.map((p) => queueKey(queue, p))

/** The queue a list key belongs to (kombu's `rsplit(sep, 1)[0]`). */
export const queueOfKey = (key: string) => (key.includes(SEP) ? key.slice(0, key.lastIndexOf(SEP)) : key)

export interface KombuPayload {
  body: string
  'content-encoding': string | null
  'content-type': string | null
  headers: Record<string, unknown>
  properties: {
    correlation_id?: string
    reply_to?: string
    delivery_mode?: number
    delivery_info: { exchange: string; routing_key: string; redelivered?: boolean }
    priority?: number
    body_encoding?: string
    delivery_tag: string
    [key: string]: unknown
  }
}

/** JSON has no bigint: encodeTask writes large header integers as bigint for AMQP's sake. */
function jsonSafe(_key: string, value: unknown) {
  if (typeof value !== 'bigint') return value
  return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString()
}

/**
 * The envelope kombu's `prepare_message` + `basic_publish` build: body base64, properties in Celery's order with
 * delivery_info (exchange `""`, routing key = queue, as Celery publishes), body_encoding and a fresh delivery tag.
 */
export function encodeEnvelope(
  message: RawMessage,
  routingKey: string,
  deliveryTag: string = randomUUID(),
): string {
  const p = message.properties
  // Insertion order = what Python Celery writes (fixtures/publish_send_task_plain.json).
  const properties = {} as KombuPayload['properties']
  if (p.correlationId) properties.correlation_id = p.correlationId
  if (p.replyTo) properties.reply_to = p.replyTo
  properties.delivery_mode = 2
  properties.delivery_info = { exchange: '', routing_key: routingKey }
  properties.priority = p.priority ?? 0
  properties.body_encoding = 'base64'
  properties.delivery_tag = deliveryTag
  // kombu's restore flag describes a delivery, not the message.
  const headers = withoutRedelivered(p.headers ?? {})
  const payload: KombuPayload = {
    body: message.body.toString('base64'),
    'content-encoding': p.contentEncoding ?? null,
    'content-type': p.contentType ?? null,
    headers,
    properties,
  }
  // A replacer costs a call per value on every publish; only a message that came from RabbitMQ can carry a
  // bigint (a 64-bit header), and JSON.stringify throws on exactly that, so the replacer runs only then.
  try {
    return JSON.stringify(payload)
  } catch {
    return JSON.stringify(payload, jsonSafe)
  }
}

/** The headers without kombu's `redelivered`, copied only when it is there (`delete` slows the object down). */
function withoutRedelivered(headers: Record<string, unknown>): Record<string, unknown> {
  // Not a table (a foreign client's bad envelope): left as it is, for the worker to dead-letter as such.
  if (typeof headers !== 'object' || headers === null || !('redelivered' in headers)) return headers
  const out: Record<string, unknown> = {}
  for (const key of Object.keys(headers)) if (key !== 'redelivered') out[key] = headers[key]
  return out
}

export interface Delivery {
  deliveryTag: string
  message: BrokerMessage
}

const str = (v: unknown) => (typeof v === 'string' ? v : undefined)

/**
 * A delivered envelope as the worker sees it. Something that is not a kombu envelope still becomes a message
 * (no content type), so the worker dead-letters it instead of the transport dropping or looping it.
 */
export function decodeEnvelope(raw: string, deliveryTag: string): Delivery {
  let payload: Partial<KombuPayload> | undefined
  try {
    const parsed: unknown = JSON.parse(raw)
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) payload = parsed as KombuPayload
  } catch {
    payload = undefined
  }
  if (!payload) return { deliveryTag, message: { body: Buffer.from(raw), redelivered: false } }
  const props = (payload.properties ?? {}) as Partial<KombuPayload['properties']>
  const received = (payload.headers ?? {}) as Record<string, unknown>
  const redelivered = received.redelivered === true || props.delivery_info?.redelivered === true
  const headers = withoutRedelivered(received)
  const text = typeof payload.body === 'string' ? payload.body : JSON.stringify(payload.body ?? null)
  const body = props.body_encoding === 'base64' ? Buffer.from(text, 'base64') : Buffer.from(text, 'utf8')
  const message: BrokerMessage = {
    body,
    contentType: str(payload['content-type']),
    contentEncoding: str(payload['content-encoding']),
    correlationId: str(props.correlation_id),
    replyTo: str(props.reply_to),
    priority: typeof props.priority === 'number' ? props.priority : undefined,
    headers,
    jsonHeaders: true,
    redelivered,
  }
  return { deliveryTag, message }
}

/** kombu's `_do_restore_message`: the payload flagged redelivered in its headers and its delivery_info. */
export function markRedelivered(raw: string): string {
  const payload = JSON.parse(raw) as KombuPayload
  if (payload.headers && payload.properties?.delivery_info) {
    payload.headers.redelivered = true
    payload.properties.delivery_info.redelivered = true
  }
  return JSON.stringify(payload)
}
