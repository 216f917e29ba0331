import type { ColumnType, Generated } from 'kysely'

/** The whole SQL schema as one interface: queries are checked against it at compile time. */
export interface Database {
  items: ItemsTable
  item_views_daily: ItemViewsDailyTable
  counter_flushes: CounterFlushesTable
  sms_messages: SmsMessagesTable
  sms_outbox: SmsOutboxTable
  sms_gateway_parts: SmsGatewayPartsTable
  banners: BannersTable
  products: ProductsTable
  orders: OrdersTable
  domain_event_outbox: DomainEventOutboxTable
}

export interface ItemsTable {
  id: Generated<number>
  kind: 'article' | 'video'
  title: string
  body: string
  /** Views already moved to SQL by the write-behind flush; Redis holds the live count. */
  views: ColumnType<number, number | undefined, number>
  created_at: ColumnType<string, string, never>
}

/** Per-day view totals, so day and week rankings can be rebuilt if Redis loses its data. */
export interface ItemViewsDailyTable {
  item_id: number
  /** Days since 1970-01-01 (UTC). */
  day: number
  views: number
}

/** Batches of view deltas already applied: makes a retried flush a no-op (never double-counts). */
export interface CounterFlushesTable {
  batch_id: string
  applied_at: string
}

/** A flash-sale product. `stock` never changes; what is left lives in Redis (seckill/keys.ts). */
export interface ProductsTable {
  id: Generated<number>
  name: string
  stock: number
  /** numeric: PostgreSQL returns it as a string. */
  price: ColumnType<number | string, number, never>
  starts_at: string | null
  ends_at: string | null
  created_at: ColumnType<string, string, never>
  /** Orders placed (the order's transaction adds 1): the one reaching `stock` reports product.sold_out. */
  sold: ColumnType<number, number | undefined, number>
}

/** One per user and product (UNIQUE(product_id, user_id)), written by the order task. */
export interface OrdersTable {
  id: Generated<number>
  product_id: number
  user_id: string
  admission_id: string
  created_at: ColumnType<string, string, never>
}

/** A home-page banner. `shown` is 0/1 (SQLite has no boolean); the public list has shown ones by `sort_order`. */
export interface BannersTable {
  id: Generated<number>
  title: string
  image: string
  link: string
  sort_order: number
  shown: number
  created_at: ColumnType<string, string, never>
  updated_at: string
}

/** `delivered` / `undelivered` follow `sent` when the gateway reports a delivery receipt. */
export type SmsStatus = 'queued' | 'sending' | 'sent' | 'failed' | 'delivered' | 'undelivered'

/** An accepted SMS and its delivery state (responses and logs only ever show the phone masked). */
export interface SmsMessagesTable {
  id: string
  /** The E.164 phone sealed (src/sms/phone-vault.ts): never in clear at rest. */
  phone: string
  /** Keyed HMAC of the E.164 phone: finds one phone's messages. */
  phone_hash: string
  content: string
  encoding: 'GSM-7' | 'UCS-2'
  segments: number
  status: SmsStatus
  attempts: ColumnType<number, number | undefined, number>
  error: string | null
  /** Epoch ms until which the worker that claimed the message (status `sending`) owns it. */
  lease_until: number | null
  created_at: ColumnType<string, string, never>
  sent_at: string | null
  /** The gateway that sent it (SMS_PROVIDER names), once sent. */
  gateway: ColumnType<string | null, string | null | undefined, string | null>
  /** The text to deliver when `content` is masked (a verification code), sealed; null once delivered. */
  sealed: ColumnType<string | null, string | null | undefined, string | null>
}

export type GatewayPartStatus = 'sent' | 'delivered' | 'undelivered'

/** One part as a real gateway took it: its message id and, once reported, its delivery receipt. */
export interface SmsGatewayPartsTable {
  sms_id: string
  part: number
  gateway: string
  message_id: string
  status: GatewayPartStatus
  error: string | null
  sent_at: string
  reported_at: string | null
}

/** What the `outbox` provider delivered: one row per part, UNIQUE(sms_id, part). */
export interface SmsOutboxTable {
  id: Generated<number>
  sms_id: string
  part: number
  /** Sealed, like sms_messages.phone; `phone_hash` finds one phone's parts. */
  phone: string
  phone_hash: string
  /** Masked when the SMS was sealed. */
  body: string
  delivered_at: string
  /** The delivered text of a sealed SMS, sealed (the outbox stands in for the phone). */
  sealed: ColumnType<string | null, string | null | undefined, string | null>
}

/** Domain events not yet published (src/domain-events/outbox.ts); a row is deleted once the broker confirmed it. */
export interface DomainEventOutboxTable {
  seq: Generated<number>
  id: string
  type: string
  time: string
  /** The event's `data`, JSON. */
  data: string
  merge_key: string | null
  /** Aggregated facts: the count processes add to (item.viewed's `views`). */
  tally: ColumnType<number, number | undefined, number>
  available_at: number
  claimed_by: string | null
  attempts: ColumnType<number, number | undefined, number>
  last_error: string | null
  parked_at: string | null
}
