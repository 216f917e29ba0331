import type { Db } from '../infra/db/index.ts'
import type { SmsStatus } from '../infra/db/schema.ts'
import { createBatcher } from './batcher.ts'
import type { SmsEncoding } from './segment.ts'

export interface SmsRow {
  id: string
  phone: string
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
}

export type NewSms = Pick<SmsRow, 'id' | 'phone' | 'content' | 'encoding' | 'segments' | 'sealed'>

/** A row waiting for its batch, with the outcome of its own INSERT when the batch had to go row by row. */
interface PendingInsert {
  row: NewSms
  error?: unknown
}

const now = () => new Date().toISOString()
/** Rows per INSERT: 11 parameters each stays far below SQLite's and PostgreSQL's parameter limits. */
const INSERT_BATCH = 500

/**
 * SQL of the SMS feature. Delivery moves a message through conditional UPDATEs (queued → sending → sent |
 * failed), so two deliveries of one task can never both own it: only the one whose UPDATE matched goes on.
 */
export function createSmsStore(db: Db) {
  const insertRows = async (rows: NewSms[]) => {
    const created_at = now()
    await db
      .insertInto('sms_messages')
      .values(
        rows.map((row) => ({
          ...row,
          status: 'queued' as const,
          attempts: 0,
          error: null,
          lease_until: null,
          created_at,
        })),
      )
      .execute()
  }
  // One bad row must not fail the requests it shares a statement with (issue 15 item 12): a failed batch is
  // retried row by row and each row gets its own outcome. The batch statement is atomic, so nothing of it stayed.
  const inserts = createBatcher<PendingInsert>(async (pending) => {
    try {
      await insertRows(pending.map((p) => p.row))
    } catch (error) {
      if (pending.length === 1) throw error
      await Promise.all(
        pending.map(async (p) => {
          try {
            await insertRows([p.row])
          } catch (rowError) {
            p.error = rowError
          }
        }),
      )
    }
  }, INSERT_BATCH)

  const get = (id: string): Promise<SmsRow | undefined> =>
    db.selectFrom('sms_messages').selectAll().where('id', '=', id).executeTakeFirst()

  return {
    get,

    /** Stores a new `queued` message; concurrent requests share one INSERT (see batcher.ts). */
    async insert(row: NewSms): Promise<void> {
      const pending: PendingInsert = { row }
      await inserts.add(pending)
      if (pending.error !== undefined) throw pending.error
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

    async markSent(id: string): Promise<void> {
      await db
        .updateTable('sms_messages')
        .set({ status: 'sent', sent_at: now(), error: null, lease_until: null, sealed: null })
        .where('id', '=', id)
        .where('status', '=', 'sending')
        .execute()
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
      await db
        .updateTable('sms_messages')
        .set({ status: 'failed', error, lease_until: null, sealed: null })
        .where('id', '=', id)
        .where('status', 'in', ['queued', 'sending'])
        .execute()
    },

    /** The message could not be queued: fail it unless a worker already took it. True when it was failed. */
    async cancelQueued(id: string, error: string): Promise<boolean> {
      const result = await db
        .updateTable('sms_messages')
        .set({ status: 'failed', error, sealed: null })
        .where('id', '=', id)
        .where('status', '=', 'queued')
        .where('attempts', '=', 0)
        .executeTakeFirst()
      return result.numUpdatedRows > 0n
    },
  }
}

export type SmsStore = ReturnType<typeof createSmsStore>
