// Shapes of the public HTTP API (docs/api.md) the UI reads.

export type ItemKind = 'article' | 'video'

export interface Item {
  id: number
  kind: ItemKind
  title: string
  body: string
  views: number
  uniqueVisitors: number
  createdAt: string
}

export type ListedItem = Omit<Item, 'uniqueVisitors'> & { uniqueVisitors?: number }

export interface ItemPage {
  items: ListedItem[]
  nextCursor: string | null
}

export type Period = 'day' | 'week' | 'month' | 'all' | 'trending'

export interface Ranking {
  period: Period
  items: { id: number; title: string; views: number }[]
}

export interface ItemRank {
  id: number
  period: Period
  /** 1 = most viewed; null without views in the period. */
  rank: number | null
  views: number
  of: number
}

export interface ViewAnswer {
  id: number
  views: number
  uniqueVisitors: number
}

export interface Banner {
  id: number
  title: string
  image: string
  link: string
  order: number
}

export interface AdminBanner extends Banner {
  shown: boolean
  createdAt: string
  updatedAt: string
}

export interface Product {
  id: number
  name: string
  stock: number
  remaining: number
  price: number
  startsAt: string | null
  endsAt: string | null
  createdAt?: string
}

export interface Order {
  id: number
  productId: number
  userId: string
  createdAt: string
}

export type TaskStatus = 'PENDING' | 'STARTED' | 'RETRY' | 'SUCCESS' | 'FAILURE' | 'REVOKED'

export interface TaskState {
  taskId: string
  status: TaskStatus
  result?: unknown
  error?: { type: string; message: string }
}

export type SmsEncoding = 'GSM-7' | 'UCS-2'

export interface SmsAccepted {
  id: string
  phone: string
  encoding: SmsEncoding
  segments: number
  status: 'queued'
}

export interface SmsState {
  id: string
  phone: string
  status: 'queued' | 'sending' | 'sent' | 'failed'
  segments: number
  attempts: number
  sentAt?: string
  error?: string
}

export type SmsStatus = 'queued' | 'sending' | 'sent' | 'failed' | 'delivered' | 'undelivered'

/** One message of the admin list (GET /api/sms): its gateway and what the gateway said of each part. */
export interface SmsMessage {
  id: string
  phone: string
  status: SmsStatus
  segments: number
  attempts: number
  createdAt: string
  sentAt?: string
  error?: string
  gateway?: string
  receipts?: {
    part: number
    messageId: string
    status: 'sent' | 'delivered' | 'undelivered'
    error?: string
    reportedAt?: string
  }[]
}

export interface CodeSent {
  smsId: string
  expiresIn: number
  resendAfter: number
}

export interface OutboxPart {
  smsId: string
  part: number
  phone: string
  body: string
  deliveredAt: string
}

export interface QueueDepth {
  name: string
  messages: number | null
  consumers: number | null
}

export interface TaskCounters {
  task: string
  sent: number
  received: number
  succeeded: number
  failed: number
  retried: number
}

export interface QueuesReport {
  queues: QueueDepth[]
  deadLetters: QueueDepth
  delayed: number
  tasks: TaskCounters[]
  at: string
}

export interface DeadLetter {
  taskId: string | null
  task: string | null
  reason: string | null
  error: string | null
  queue: string | null
  deadAt: string | null
}

/** A Celery worker (Python or hotspot) as its heartbeats describe it: GET /api/admin/workers. */
export interface CeleryWorker {
  hostname: string
  alive: boolean
  active: number
  processed: number
  loadavg: number[]
  freq: number
  software: string
  lastHeartbeat: string
}
