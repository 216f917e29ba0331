import { createHash, randomUUID } from 'node:crypto'
import { sql } from 'kysely'
import { v7 as timeOrderedUuid } from 'uuid'
import type { Db } from '../infra/db/index.ts'
import {
  type DomainEvent,
  type DomainEventType,
  EVENT_VERSION,
  type Fact,
  type SqlExecutor,
} from './types.ts'

/** A UUID-shaped id that is always the same for the same text: a fact written twice keeps one event id. */
export function stableEventId(text: string): string {
  const hex = createHash('sha256').update(text).digest('hex')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`
}

export interface ClaimedEvent {
  seq: number
  attempts: number
  event: DomainEvent
}

/** An aggregated item.viewed part one process counted: added to the row of its item and second. */
export interface ViewedPart {
  itemId: number
  /** Epoch second. */
  second: number
  views: number
}

/** Rows per INSERT (9 parameters each): far below SQLite's and PostgreSQL's parameter limits. */
const INSERT_BATCH = 500

/**
 * The SQL outbox: facts' events written in the facts' transactions, claimed by one drainer at a time under a
 * lease, deleted once the broker confirmed them, pushed back with backoff when it did not.
 */
export function createOutbox(db: Db) {
  return {
    /** Writes facts' events in `trx`; a fact with a key already written is not written again. */
    async record(trx: SqlExecutor, facts: Fact | Fact[], now = Date.now()): Promise<void> {
      const list = Array.isArray(facts) ? facts : [facts]
      const time = new Date(now).toISOString()
      for (let i = 0; i < list.length; i += INSERT_BATCH) {
        await trx
          .insertInto('domain_event_outbox')
          .values(
            list.slice(i, i + INSERT_BATCH).map((fact) => ({
              // Time-ordered, as the facts' own rows (sms/service.ts): appended to the id index, not scattered.
              id: fact.key === undefined ? timeOrderedUuid() : stableEventId(`${fact.type}:${fact.key}`),
              type: fact.type,
              time,
              data: JSON.stringify(fact.data),
              available_at: now,
            })),
          )
          .onConflict((oc) => oc.column('id').doNothing())
          .execute()
      }
    },

    /**
     * Adds views to the item.viewed row of each item and second while no drainer has taken it (a claim clears
     * `merge_key`, so a later part starts a row, and an event, of its own). Due `settleMs` after its second ends,
     * so the parts of every process land in one row first.
     */
    async addViews(parts: ViewedPart[], settleMs: number): Promise<void> {
      for (let i = 0; i < parts.length; i += INSERT_BATCH) {
        const rows = parts.slice(i, i + INSERT_BATCH).map((p) => {
          const second = new Date(p.second * 1000).toISOString()
          return {
            id: timeOrderedUuid(),
            type: 'item.viewed',
            time: second,
            data: JSON.stringify({ itemId: p.itemId, second }),
            merge_key: `item.viewed:${p.itemId}:${p.second}`,
            tally: p.views,
            available_at: (p.second + 1) * 1000 + settleMs,
          }
        })
        await db
          .insertInto('domain_event_outbox')
          .values(rows)
          .onConflict((oc) =>
            oc.column('merge_key').doUpdateSet({ tally: sql`domain_event_outbox.tally + excluded.tally` }),
          )
          .execute()
      }
    },

    /** Takes up to `limit` due events for `leaseMs` (another drainer takes them again after it). */
    async claim(limit: number, leaseMs: number, now = Date.now()): Promise<ClaimedEvent[]> {
      const token = randomUUID()
      const due = db
        .selectFrom('domain_event_outbox')
        .select('seq')
        .where('available_at', '<=', now)
        .where('parked_at', 'is', null)
        .orderBy('available_at')
        .orderBy('seq')
        .limit(limit)
      await db
        .updateTable('domain_event_outbox')
        .set({ claimed_by: token, available_at: now + leaseMs, merge_key: null })
        .where('seq', 'in', due)
        // Checked again on the row as it is when locked (PostgreSQL): a row another drainer took meanwhile is skipped.
        .where('available_at', '<=', now)
        .execute()
      const rows = await db
        .selectFrom('domain_event_outbox')
        .select(['seq', 'id', 'type', 'time', 'data', 'tally', 'attempts'])
        .where('claimed_by', '=', token)
        .orderBy('seq')
        .execute()
      return rows.map((row) => {
        const data = JSON.parse(row.data) as Record<string, unknown>
        if (row.type === 'item.viewed') data.views = Number(row.tally)
        return {
          seq: Number(row.seq),
          attempts: Number(row.attempts),
          event: {
            id: row.id,
            type: row.type as DomainEventType,
            time: row.time,
            version: EVENT_VERSION,
            data,
          } as DomainEvent,
        }
      })
    },

    /** The broker confirmed these: they are done. */
    async remove(seqs: number[]): Promise<void> {
      if (seqs.length === 0) return
      await db.deleteFrom('domain_event_outbox').where('seq', 'in', seqs).execute()
    },

    /**
     * Not confirmed: due again after `delayMs`. `counted` (the broker was up and still refused) uses an attempt;
     * a row out of attempts is parked (kept for an operator, never retried, never lost).
     */
    async release(
      seqs: number[],
      options: { delayMs: number; error: string; counted: boolean; maxAttempts: number },
      now = Date.now(),
    ): Promise<void> {
      if (seqs.length === 0) return
      const step = options.counted ? 1 : 0
      await db
        .updateTable('domain_event_outbox')
        .set((eb) => ({
          claimed_by: null,
          available_at: now + options.delayMs,
          attempts: eb('attempts', '+', step),
          last_error: options.error.slice(0, 500),
          parked_at: eb
            .case()
            .when(eb('attempts', '+', step), '>=', options.maxAttempts)
            .then(new Date(now).toISOString())
            .else(null)
            .end(),
        }))
        .where('seq', 'in', seqs)
        .execute()
    },

    /** Events waiting (parked ones apart), and parked ones. */
    async depth(): Promise<{ pending: number; parked: number }> {
      const row = await db
        .selectFrom('domain_event_outbox')
        .select([
          sql<number | string>`sum(case when parked_at is null then 1 else 0 end)`.as('pending'),
          sql<number | string>`sum(case when parked_at is null then 0 else 1 end)`.as('parked'),
        ])
        .executeTakeFirstOrThrow()
      return { pending: Number(row.pending ?? 0), parked: Number(row.parked ?? 0) }
    },
  }
}

export type Outbox = ReturnType<typeof createOutbox>
