import { v7 as timeOrderedUuid } from 'uuid'
import { AppError, unavailable } from '../errors.ts'
import type { Db } from '../infra/db/index.ts'
import type { SmsStatus } from '../infra/db/schema.ts'
import type { Logger } from '../infra/logger.ts'
import { createTurnBatcher } from '../infra/turn-batcher.ts'
import type { Limiter, Quota } from '../ratelimit/index.ts'
import type { TaskProducer } from '../tasks/types.ts'
import { checkCountry, createBudgetTaker, type SmsBudgets } from './budgets.ts'
import { smsErrors } from './errors.ts'
import { maskPhone, normalizePhone } from './phone.ts'
import type { PhoneVault } from './phone-vault.ts'
import { listOutbox } from './providers/outbox.ts'
import type { Sealer } from './sealed.ts'
import { type SmsEncoding, segment } from './segment.ts'
import type { GatewayPart, SmsRow, SmsStore } from './store.ts'

export const DELIVER_TASK = 'hotspot.sms.deliver'
/** SMS ids one delivery task may carry (one task per event-loop turn of the API, see `publishDelivery`). */
export const MAX_BATCH = 500
/** SMS waiting for their delivery task's confirm, past which a send is refused (503) rather than queued. */
const MAX_PENDING_PUBLISHES = 20_000
/** API.md: more segments than this is `invalid_content`. */
const MAX_SEGMENTS = 10

export interface AcceptedSms {
  id: string
  /** Masked. */
  phone: string
  encoding: SmsEncoding
  segments: number
  status: 'queued'
}

/** A refusal is part of normal work: returned, not thrown. */
export type SendResult =
  | { accepted: true; sms: AcceptedSms; quota?: Quota }
  | { accepted: false; retryAfterMs: number; which: 'phone' | 'address' | 'global'; quota?: Quota }

export interface SendOptions {
  /** The client's address, for the per-address budget. */
  address?: string
  /**
   * What may be stored and shown instead of `content`: the same text with digits replaced by `*` (they cost
   * alike in GSM-7 and UCS-2, so its parts line up with the real ones). The real text is then kept sealed until
   * delivered, then erased.
   */
  masked?: string
  /**
   * The delivery task's message priority (higher first; default 0): verification codes go ahead of bulk messages
   * waiting in the queue when it has priorities (TASK_QUEUE_MAX_PRIORITY).
   */
  priority?: number
}

export interface SmsView {
  id: string
  phone: string
  status: SmsStatus
  encoding: SmsEncoding
  segments: number
  attempts: number
  createdAt: string
  sentAt?: string
  error?: string
  /** The gateway that sent it, and what it said of each part (message id, receipt). */
  gateway?: string
  receipts?: {
    part: number
    messageId: string
    status: 'sent' | 'delivered' | 'undelivered'
    error?: string
    reportedAt?: string
  }[]
  /** Admin only: the content and the text of each segment. */
  content?: string
  parts?: string[]
}

/** What GET /api/sms/:id and the admin list show of a message; the content only to the admin, on its own. */
function smsView(row: SmsRow, phone: string, parts: GatewayPart[], view: { admin: boolean }): SmsView {
  return {
    id: row.id,
    phone: maskPhone(phone),
    status: row.status,
    encoding: row.encoding,
    segments: row.segments,
    attempts: row.attempts,
    createdAt: row.created_at,
    ...(row.sent_at ? { sentAt: row.sent_at } : {}),
    ...(row.error ? { error: row.error } : {}),
    ...(row.gateway ? { gateway: row.gateway } : {}),
    ...(parts.length > 0
      ? {
          receipts: parts.map((p) => ({
            part: p.part + 1,
            messageId: p.messageId,
            status: p.status,
            ...(p.error ? { error: p.error } : {}),
            ...(p.reportedAt ? { reportedAt: p.reportedAt } : {}),
          })),
        }
      : {}),
    ...(view.admin ? { content: row.content, parts: segment(row.content).parts } : {}),
  }
}

export interface SmsServiceOptions {
  db: Db
  store: SmsStore
  limiter: Limiter
  producer: TaskProducer
  log: Logger
  budgets: SmsBudgets
  sealer: Sealer
  phones: PhoneVault
}

// C0 controls but \t \n \f \r, and DEL (a loop, not a regex: Biome refuses control characters in one).
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/
const ALLOWED_CONTROLS = new Set([0x09, 0x0a, 0x0c, 0x0d])
function hasControlCharacters(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if ((c < 0x20 && !ALLOWED_CONTROLS.has(c)) || c === 0x7f) return true
  }
  // A lone surrogate cannot be encoded as UTF-8 for SQL.
  return LONE_SURROGATE.test(text)
}

/** Phone to E.164, or 400 invalid_phone. */
function parsePhone(input: string): string {
  const phone = input.length <= 32 ? normalizePhone(input) : null
  if (phone === null) {
    throw smsErrors.error(
      'invalid_phone',
      'phone must be a mainland China mobile number (1[3-9] + 9 digits, optionally +86) or E.164 (+ and 8–15 digits)',
    )
  }
  return phone
}

/** Sending SMS within the per-phone limit, and reading their state. Knows nothing of HTTP. */
export function createSmsService(options: SmsServiceOptions) {
  const { db, store, limiter, producer, log, budgets, sealer, phones } = options
  const view = (row: SmsRow, parts: GatewayPart[], as: { admin: boolean }) =>
    smsView(row, phones.open(row.id, row.phone), parts, as)
  const limit = { segments: budgets.perPhone.limit, windowMs: budgets.perPhone.windowMs }
  const takeBudgets = createBudgetTaker(limiter, budgets)
  // The SMS stored in one event-loop turn share one delivery task: one broker message and one confirm for the
  // batch, not one per SMS (the broker's cost per message was the largest part of a POST /api/sms). Each send
  // still waits for that confirm before its 202, and on a failed publish every SMS of it is undone (below).
  // Batched per message priority: a verification code never waits in a bulk batch's message.
  const publishDelivery = createTurnBatcher<number, string, void>({
    maxBatch: MAX_BATCH,
    maxPending: MAX_PENDING_PUBLISHES,
    async send(priority, ids) {
      await producer.send(DELIVER_TASK, ids, {}, { priority })
      return ids.map(() => undefined)
    },
  })

  function parseContent(content: string) {
    const segmented = segment(content)
    if (content.trim() === '') throw smsErrors.error('invalid_content', 'content must not be empty')
    // Validated before it joins a batched INSERT (PostgreSQL refuses NUL in text: one such row would fail the
    // whole batch). Tab, newline, carriage return and form feed are SMS characters; other controls are not.
    if (hasControlCharacters(content))
      throw smsErrors.error('invalid_content', 'content must not contain control characters')
    if (segmented.segments > MAX_SEGMENTS) {
      throw smsErrors.error(
        'invalid_content',
        `content needs ${segmented.segments} segments (${segmented.encoding}); at most ${MAX_SEGMENTS} are allowed`,
        { details: { segments: segmented.segments, maxSegments: MAX_SEGMENTS } },
      )
    }
    // It could never fit in the per-phone window: waiting would not help, so it is bad input, not a 429.
    if (segmented.segments > limit.segments) {
      throw smsErrors.error(
        'invalid_content',
        `content needs ${segmented.segments} segments; a phone may receive at most ${limit.segments} per ${limit.windowMs / 1000} s`,
        { details: { segments: segmented.segments, maxSegments: limit.segments } },
      )
    }
    return segmented
  }

  return {
    parsePhone,

    /** The phone's keyed HMAC: what names its Redis keys (the verification feature's too), never the number. */
    phoneLookup: phones.lookup,

    /**
     * Validates, takes the segments from the phone's, the address's and the global budget (all or nothing),
     * stores the message (`queued`)
     * and publishes its delivery task, confirmed. If storing or publishing fails, the segments are given back
     * and the caller gets 503: nothing was sent, nothing was charged.
     */
    async send(phoneInput: string, content: string, options: SendOptions = {}): Promise<SendResult> {
      const phone = parsePhone(phoneInput)
      checkCountry(budgets, phone)
      const { encoding, segments } = parseContent(content)
      const { masked } = options
      const phoneHash = phones.lookup(phone)
      const decision = await takeBudgets(phoneHash, options.address, segments)
      if (!decision.allowed)
        return {
          accepted: false,
          retryAfterMs: decision.retryAfterMs,
          which: decision.which,
          quota: decision.quota,
        }

      // Time-ordered (UUIDv7): each new row lands at the end of the primary-key index instead of on a random
      // page, which SQLite then rewrites whole at commit (the SMS route: 373 → 295 µs of CPU per request).
      // uuid 11, not 14: 11's Node build draws from a pooled CSPRNG buffer, 14 calls crypto.getRandomValues for
      // every id (7 µs each here).
      const id = timeOrderedUuid()
      try {
        await store.insert(
          {
            id,
            phone: phones.seal(id, phone),
            phone_hash: phoneHash,
            content: masked ?? content,
            sealed: masked === undefined ? null : sealer.seal(id, content),
            encoding,
            segments,
          },
          maskPhone(phone),
        )
      } catch (error) {
        await decision.release()
        throw error instanceof AppError ? error : unavailable('The database', error)
      }
      try {
        await publishDelivery.add(options.priority ?? 0, id)
      } catch (error) {
        // A worker that already took it means the publish did land (only its confirm was lost): it is queued.
        if (await store.cancelQueued(id, 'could not be queued (task broker unavailable)').catch(() => true)) {
          await decision.release()
          log.warn({ sms: id, phone: maskPhone(phone), err: error }, 'SMS not queued, limit given back')
          throw unavailable('The task broker', error)
        }
      }
      log.info({ sms: id, phone: maskPhone(phone), segments }, 'SMS queued')
      return {
        accepted: true,
        sms: { id, phone: maskPhone(phone), encoding, segments, status: 'queued' },
        quota: decision.quota,
      }
    },

    async get(id: string, as: { admin: boolean }): Promise<SmsView> {
      const row = await store.get(id)
      if (!row) throw smsErrors.error('sms_not_found', `no SMS ${id}`)
      return view(row, await store.gatewayParts(id), as)
    },

    /** The newest messages for the admin list: gateway, message ids, receipts and errors; phones masked. */
    async recent(query: { limit: number; phone?: string; status?: SmsStatus }): Promise<SmsView[]> {
      const { phone, ...rest } = query
      const phoneHash = phone === undefined ? undefined : phones.lookup(parsePhone(phone))
      const rows = await store.recent({ ...rest, ...(phoneHash === undefined ? {} : { phoneHash }) })
      const parts = await store.partsOf(rows.map((r) => r.id))
      return rows.map((row) => view(row, parts.get(row.id) ?? [], { admin: false }))
    },

    /** A gateway's delivery receipt; the SMS id it belongs to, or undefined when no part has that id. */
    applyReceipt: store.applyReceipt,

    /** What the outbox provider delivered (admin), newest first; phones masked. */
    async outbox(query: { phone?: string; limit: number }) {
      const phoneHash = query.phone === undefined ? undefined : phones.lookup(parsePhone(query.phone))
      const parts = await listOutbox(db, {
        ...(phoneHash === undefined ? {} : { phoneHash }),
        limit: query.limit,
      })
      return parts.map((p) => ({ ...p, phone: maskPhone(phones.open(p.smsId, p.phone)) }))
    },
  }
}

export type SmsService = ReturnType<typeof createSmsService>
