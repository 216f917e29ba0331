import { randomUUID } from 'node:crypto'
import type { Connection, Consumer } from 'rabbitmq-client'
import type { Logger } from '../../infra/logger.ts'
import { CELERY_EVENT_EXCHANGE } from './dispatcher.ts'

/** A worker as its heartbeats describe it (what Flower's worker list shows). */
export interface WorkerView {
  hostname: string
  alive: boolean
  active: number
  processed: number
  loadavg: number[]
  freq: number
  software: string
  lastHeartbeat: string
}

/** Celery's HEARTBEAT_EXPIRE_WINDOW: a worker is alive until two heartbeat periods pass without one. */
const EXPIRE_WINDOW = 2
/** A worker gone (offline or silent) this long is dropped from the list. */
const FORGET_AFTER_MS = 10 * 60_000

/**
 * Every worker on the broker, Python or hotspot, from its `worker-*` events on `celeryev` (the receipt time
 * counts, not the sender's clock). Subscribes on first use; an exclusive queue with a short TTL, so a slow
 * reader never piles up heartbeats.
 */
export function createWorkerWatch(amqp: Connection, log: Logger) {
  const workers = new Map<string, { view: WorkerView; seenAt: number; offline: boolean }>()
  const queue = `hotspot.workers.${randomUUID()}`
  let consumer: Consumer | undefined

  function onEvent(body: unknown) {
    const event = body as Record<string, unknown> | null
    if (!event || typeof event !== 'object' || typeof event.hostname !== 'string') return
    if (typeof event.type !== 'string' || !event.type.startsWith('worker-')) return
    const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : 0)
    const now = Date.now()
    workers.set(event.hostname, {
      seenAt: now,
      offline: event.type === 'worker-offline',
      view: {
        hostname: event.hostname,
        alive: true,
        active: num(event.active),
        processed: num(event.processed),
        loadavg: Array.isArray(event.loadavg) ? event.loadavg.map(num).slice(0, 3) : [],
        freq: num(event.freq) || 2,
        software: `${String(event.sw_ident ?? '?')} ${String(event.sw_ver ?? '')}`.trim(),
        lastHeartbeat: new Date(now).toISOString(),
      },
    })
  }

  return {
    start() {
      if (consumer) return
      consumer = amqp.createConsumer(
        {
          queue,
          queueOptions: {
            exclusive: true,
            autoDelete: true,
            durable: false,
            arguments: { 'x-message-ttl': 10_000 },
          },
          exchanges: [{ exchange: CELERY_EVENT_EXCHANGE, type: 'topic', durable: true, autoDelete: false }],
          queueBindings: [{ queue, exchange: CELERY_EVENT_EXCHANGE, routingKey: 'worker.#' }],
          noAck: true,
        },
        (msg) => {
          try {
            onEvent(Buffer.isBuffer(msg.body) ? JSON.parse(msg.body.toString('utf8')) : msg.body)
          } catch (error) {
            log.debug({ err: error }, 'malformed worker event ignored')
          }
        },
      )
      consumer.on('error', (error) => log.warn({ err: error }, 'worker events consumer error (it recovers)'))
    },
    list(): WorkerView[] {
      const now = Date.now()
      const out: WorkerView[] = []
      for (const [name, w] of workers) {
        if (now - w.seenAt > FORGET_AFTER_MS) {
          workers.delete(name)
          continue
        }
        const alive = !w.offline && now < w.seenAt + w.view.freq * EXPIRE_WINDOW * 1000
        out.push({ ...w.view, alive })
      }
      return out.sort((a, b) => (a.hostname < b.hostname ? -1 : 1))
    },
    async stop() {
      await consumer?.close()
      consumer = undefined
    },
  }
}
