import { type DomainEventSink, noDomainEvents, type SqlExecutor } from '../domain-events/types.ts'
import { isPostgres } from '../infra/db/dialect.ts'
import { type Db, transact } from '../infra/db/index.ts'
import type { GatewayPartStatus, SmsStatus } from '../infra/db/schema.ts'
import { createTurnBatcher } from '../infra/turn-batcher.ts'
import type { SmsEncoding } from './segment.ts'

export interface SmsRow {
  id: string
  /** Sealed (phone-vault.ts): opened only for the gateway and to mask it. */
  phone: string
  phone_hash: string
  content: string
  encoding: SmsEncoding
  segments: number
  status: SmsStatus
  attempts: number
  error: string | null
  lease_until: number | null
  created_at: string
  sent_at: string | null
  /** The text to deliver, sealed, when `content` is masked; null once delivered or failed. */
  sealed: string | null
  gateway: string | null
}

export interface GatewayPart {
  part: number
  gateway: string
  messageId: string
  status: GatewayPartStatus
  error: string | null
  sentAt: string
  reportedAt: string | null
}

export type NewSms = Pick<
  SmsRow,
  'id' | 'phone' | 'phone_hash' | 'content' | 'encoding' | 'segments' | 'sealed'
>

/** A new message and its phone as the API shows it (masked) for its sms.accepted event: `phone` is sealed. */
interface PendingSms {
  row: NewSms
  maskedPhone: string
}

const now = () => new Date().toISOString()
/** Rows per INSERT: 11 parameters each stays far below SQLite's and PostgreSQL's parameter limits. */
const INSERT_BATCH = 500
/** Rows waiting or being written past which a new one is refused (503) rather than queued: SQL is hung. */
const MAX_PENDING_INSERTS = 20_000

/**
 * SQL of the SMS feature. Delivery moves a message through conditional UPDATEs (queued → sending → sent |
 * failed), so two deliveries of one task can never both own it: only the one whose UPDATE matched goes on.
 */
export function createSmsStore(db: Db, events: DomainEventSink = noDomainEvents) {
  // The messages and their sms.accepted events commit together.
  const insertRows = (pending: PendingSms[]) =>
    transact(db, async (trx) => {
      const created_at = now()
      await trx
        .insertInto('sms_messages')
        .values(
          pending.map(({ row }) => ({
            ...row,
            status: 'queued' as const,
            attempts: 0,
            error: null,
            lease_until: null,
            created_at,
          })),
        )
        .execute()
      await events.publish(
        trx,
        pending.map(({ row, maskedPhone }) => ({
          type: 'sms.accepted' as const,
          data: { smsId: row.id, phone: maskedPhone, segments: row.segments },
        })),
      )
    })
  // One bad row must not fail the requests it shares a statement with (issue 15 item 12): a failed batch is
  // retried row by row and each row gets its own outcome. The batch statement is atomic, so nothing of it stayed.
  // Each row's outcome: undefined when stored, else its own error.
  const inserts = createTurnBatcher<'sms', PendingSms, { error: unknown } | undefined>({
    send: async (_key, rows) => {
      try {
        await insertRows(rows)
        return rows.map(() => undefined)
      } catch (error) {
        if (rows.length === 1) throw error
        return Promise.all(
          rows.map(async (row) => {
            try {
              await insertRows([row])
              return undefined
            } catch (rowError) {
              return { error: rowError }
            }
          }),
        )
      }
    },
    maxBatch: INSERT_BATCH,
    maxPending: MAX_PENDING_INSERTS,
  })

  async function partsOf(ids: string[]): Promise<Map<string, GatewayPart[]>> {
    const byId = new Map<string, GatewayPart[]>()
    if (ids.length === 0) return byId
    const rows = await db
      .selectFrom('sms_gateway_parts')
      .selectAll()
      .where('sms_id', 'in', ids)
      .orderBy('sms_id')
      .orderBy('part')
      .execute()
    for (const r of rows) {
      const list = byId.get(r.sms_id) ?? []
      list.push({
        part: r.part,
        gateway: r.gateway,
        messageId: r.message_id,
        status: r.status,
        error: r.error,
        sentAt: r.sent_at,
        reportedAt: r.reported_at,
      })
      byId.set(r.sms_id, list)
    }
    return byId
  }

  const get = (id: string): Promise<SmsRow | undefined> =>
    db.selectFrom('sms_messages').selectAll().where('id', '=', id).executeTakeFirst()

  /**
   * A sent SMS becomes `undelivered` when any part is, `delivered` when every part the gateways took is (a
   * gateway that splits texts itself takes the whole text as one). Only once `sent`: every part is recorded then.
   */
  async function settleReceipts(trx: SqlExecutor, id: string): Promise<void> {
    const parts = await trx
      .selectFrom('sms_gateway_parts')
      .select(['status', 'error'])
      .where('sms_id', '=', id)
      .execute()
    if (parts.length === 0) return
    let status: SmsStatus | undefined
    if (parts.some((p) => p.status === 'undelivered')) status = 'undelivered'
    else if (parts.every((p) => p.status === 'delivered')) status = 'delivered'
    if (!status) return
    const changed = await trx
      .updateTable('sms_messages')
      .set({ status })
      .where('id', '=', id)
      .where('status', 'in', ['sent', 'delivered'])
      .where('status', '!=', status) // unchanged: no second event
      .executeTakeFirst()
    if (changed.numUpdatedRows === 0n) return
    await events.publish(
      trx,
      status === 'delivered'
        ? { type: 'sms.delivered', data: { smsId: id } }
        : {
            type: 'sms.failed',
            data: {
              smsId: id,
              status: 'undelivered',
              error: parts.find((p) => p.status === 'undelivered')?.error ?? null,
            },
          },
    )
  }

  return {
    get,

    /** Stores a new `queued` message; the requests of one event-loop turn share one INSERT (turn-batcher.ts). */
    async insert(row: NewSms, maskedPhone: string): Promise<void> {
      const failed = await inserts.add('sms', { row, maskedPhone })
      if (failed) throw failed.error
    },

    /**
     * Takes a message for one delivery attempt: from `queued`, or from `sending` whose owner's lease ran out
     * (that worker died). Counts the attempt. Undefined when another delivery owns it or it is finished.
     */
    async claim(id: string, leaseMs: number): Promise<SmsRow | undefined> {
      const at = Date.now()
      const result = await db
        .updateTable('sms_messages')
        .set((eb) => ({ status: 'sending', attempts: eb('attempts', '+', 1), lease_until: at + leaseMs }))
        .where('id', '=', id)
        .where((eb) =>
          eb.or([
            eb('status', '=', 'queued'),
            eb.and([eb('status', '=', 'sending'), eb('lease_until', '<', at)]),
          ]),
        )
        .executeTakeFirst()
      return result.numUpdatedRows > 0n ? get(id) : undefined
    },

    async markSent(id: string, gateway: string): Promise<void> {
      await transact(db, async (trx) => {
        const sent = await trx
          .updateTable('sms_messages')
          .set({ status: 'sent', sent_at: now(), error: null, lease_until: null, sealed: null, gateway })
          .where('id', '=', id)
          .where('status', '=', 'sending')
          .executeTakeFirst()
        if (sent.numUpdatedRows > 0n)
          await events.publish(trx, { type: 'sms.sent', data: { smsId: id, gateway } })
        // A receipt may have come in before this (SMPP answers fast).
        await settleReceipts(trx, id)
      })
    },

    /** A gateway took one part: recorded before anything else is sent, so no retry sends it again. */
    async recordPart(id: string, part: number, gateway: string, messageId: string): Promise<void> {
      await db
        .insertInto('sms_gateway_parts')
        .values({
          sms_id: id,
          part,
          gateway,
          message_id: messageId,
          status: 'sent',
          error: null,
          sent_at: now(),
        })
        .onConflict((oc) => oc.columns(['sms_id', 'part']).doNothing())
        .execute()
    },

    async gatewayParts(id: string): Promise<GatewayPart[]> {
      return (await partsOf([id])).get(id) ?? []
    },

    /** The newest messages (admin list), optionally of one phone (by its lookup HMAC) or in one status. */
    async recent(query: { limit: number; phoneHash?: string; status?: SmsStatus }): Promise<SmsRow[]> {
      let select = db.selectFrom('sms_messages').selectAll()
      if (query.phoneHash !== undefined) select = select.where('phone_hash', '=', query.phoneHash)
      if (query.status !== undefined) select = select.where('status', '=', query.status)
      return select.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(query.limit).execute()
    },

    /** The gateway parts of several messages at once (one query for a page of the admin list). */
    partsOf,

    /** Parts a gateway took since `since` (ISO) and has not reported on yet, newest first (for polled receipts). */
    async unreportedParts(gateway: string, since: string, limit: number) {
      return db
        .selectFrom('sms_gateway_parts')
        .innerJoin('sms_messages', 'sms_messages.id', 'sms_gateway_parts.sms_id')
        .select([
          'sms_gateway_parts.message_id as messageId',
          'sms_messages.id as smsId',
          'sms_messages.phone as sealedPhone',
          'sms_gateway_parts.sent_at as sentAt',
        ])
        .where('sms_gateway_parts.gateway', '=', gateway)
        .where('sms_gateway_parts.status', '=', 'sent')
        .where('sms_gateway_parts.sent_at', '>=', since)
        .orderBy('sms_gateway_parts.sent_at', 'desc')
        .limit(limit)
        .execute()
    },

    /**
     * A delivery receipt for the part `gateway` knows as `messageId`. The first receipt of a part counts (a
     * replayed or late one changes nothing). Returns the SMS id, or undefined when no part has that id.
     */
    async applyReceipt(receipt: {
      gateway: string
      messageId: string
      delivered: boolean
      error?: string
      at?: string
    }): Promise<string | undefined> {
      const part = await db
        .selectFrom('sms_gateway_parts')
        .select('sms_id')
        .where('gateway', '=', receipt.gateway)
        .where('message_id', '=', receipt.messageId)
        .executeTakeFirst()
      if (!part) return undefined
      await transact(db, async (trx) => {
        // The message's row lock first, as markSent takes it: on PostgreSQL (READ COMMITTED) a receipt and the
        // worker's "sent" committing together would otherwise each miss the other's write and leave a delivered
        // message `sent` for good. SQLite runs one transaction at a time already (and has no FOR UPDATE).
        const lock = trx.selectFrom('sms_messages').select('id').where('id', '=', part.sms_id)
        await (isPostgres(trx) ? lock.forUpdate() : lock).execute()
        await trx
          .updateTable('sms_gateway_parts')
          .set({
            status: receipt.delivered ? 'delivered' : 'undelivered',
            error: receipt.delivered ? null : (receipt.error ?? 'undelivered').slice(0, 500),
            reported_at: receipt.at ?? now(),
          })
          .where('gateway', '=', receipt.gateway)
          .where('message_id', '=', receipt.messageId)
          .where('status', '=', 'sent')
          .execute()
        await settleReceipts(trx, part.sms_id)
      })
      return part.sms_id
    },

    /** A provider error that will be retried: back to `queued`, keeping the reason for GET /api/sms/:id. */
    async markRetry(id: string, error: string): Promise<void> {
      await db
        .updateTable('sms_messages')
        .set({ status: 'queued', error, lease_until: null })
        .where('id', '=', id)
        .where('status', '=', 'sending')
        .execute()
    },

    async markFailed(id: string, error: string): Promise<void> {
      await transact(db, async (trx) => {
        const failed = await trx
          .updateTable('sms_messages')
          .set({ status: 'failed', error, lease_until: null, sealed: null })
          .where('id', '=', id)
          .where('status', 'in', ['queued', 'sending'])
          .executeTakeFirst()
        if (failed.numUpdatedRows > 0n)
          await events.publish(trx, { type: 'sms.failed', data: { smsId: id, status: 'failed', error } })
      })
    },

    /** The message could not be queued: fail it unless a worker already took it. True when it was failed. */
    async cancelQueued(id: string, error: string): Promise<boolean> {
      return transact(db, async (trx) => {
        const result = await trx
          .updateTable('sms_messages')
          .set({ status: 'failed', error, sealed: null })
          .where('id', '=', id)
          .where('status', '=', 'queued')
          .where('attempts', '=', 0)
          .executeTakeFirst()
        if (result.numUpdatedRows === 0n) return false
        await events.publish(trx, { type: 'sms.failed', data: { smsId: id, status: 'failed', error } })
        return true
      })
    },
  }
}

export type SmsStore = ReturnType<typeof createSmsStore>
