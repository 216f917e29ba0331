import type { Kysely } from 'kysely'
import type { Database } from '../infra/db/schema.ts'

/** Schema version of every event's envelope and data; bumped only on a change consumers must know about. */
export const EVENT_VERSION = 1

/** What each routing key carries in `data` (docs/events.md lists them for consumers). */
export interface DomainEventData {
  'item.created': { itemId: number; kind: 'article' | 'video'; title: string }
  /** Views of one item counted within one second (`second`: its start, ISO). */
  'item.viewed': { itemId: number; second: string; views: number }
  'order.created': { orderId: number; productId: number; userId: string }
  'order.failed': { productId: number; userId: string; admissionId: string; reason: string }
  /** Phones only ever masked (as the API shows them). */
  'sms.accepted': { smsId: string; phone: string; segments: number }
  'sms.sent': { smsId: string; gateway: string }
  'sms.delivered': { smsId: string }
  /** `failed`: never sent (attempts used up, not queued); `undelivered`: a gateway reported it lost. */
  'sms.failed': { smsId: string; status: 'failed' | 'undelivered'; error: string | null }
  'banner.changed': { bannerId: number; change: 'created' | 'updated' | 'deleted' }
  'product.sold_out': { productId: number; stock: number }
}

export type DomainEventType = keyof DomainEventData

export const DOMAIN_EVENT_TYPES = [
  'item.created',
  'item.viewed',
  'order.created',
  'order.failed',
  'sms.accepted',
  'sms.sent',
  'sms.delivered',
  'sms.failed',
  'banner.changed',
  'product.sold_out',
] as const satisfies readonly DomainEventType[]

/** What travels: the JSON body of each message (routing key = `type`). */
export interface DomainEvent<T extends DomainEventType = DomainEventType> {
  id: string
  type: T
  /** When the fact happened, ISO 8601 UTC. */
  time: string
  version: number
  data: DomainEventData[T]
}

/** A fact as a feature reports it. */
export type Fact = {
  [T in DomainEventType]: {
    type: T
    data: DomainEventData[T]
    /**
     * The fact's natural key (an SMS id, an admission id): the event id is derived from type + key, so writing
     * the same fact twice (a redelivered task) stores and publishes one event. Without it: a random id.
     */
    key?: string
  }
}[DomainEventType]

/** The database or the transaction the fact is committed in (`transact`'s `trx`). */
export type SqlExecutor = Kysely<Database>

/**
 * The one thing other features know of domain events: `publish(trx, fact)` writes the event to the outbox inside
 * the transaction that commits the fact, so it is published if and only if the fact is committed.
 */
export interface DomainEventSink {
  /** Several facts of one transaction: one INSERT. */
  publish(trx: SqlExecutor, facts: Fact | Fact[]): Promise<void>
  /**
   * One counted view: a Redis-first fact (SQL gets it later), aggregated in memory into item.viewed per item and
   * second and written to the outbox right after its second; must be cheap, it runs on the hot path.
   */
  viewed(itemId: number): void
}

/** For code built without the feature (a store used by a CLI command): facts are not published. */
export const noDomainEvents: DomainEventSink = { publish: async () => {}, viewed: () => {} }
