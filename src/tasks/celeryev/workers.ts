import { randomUUID } from 'node:crypto'
import type { Logger } from '../../infra/logger.ts'
import type { BusSubscription, CeleryBus } from '../broker/celery-bus.ts'
import { CELERYEV } from './dispatcher.ts'

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
 * reader never piles up heartbeats (on Redis: a PSUBSCRIBE on `/{db}.celeryev/worker.*`, which keeps nothing).
 */
export function createWorkerWatch(bus: CeleryBus, log: Logger) {
  const workers = new Map<string, { view: WorkerView; seenAt: number; offline: boolean }>()
  const queue = `hotspot.workers.${randomUUID()}`
  let subscription: BusSubscription | undefined

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
      if (subscription) return
      subscription = bus.consume(
        {
          queue,
          exchange: CELERYEV,
          routingKey: 'worker.#',
          exclusive: true,
          arguments: { 'x-message-ttl': 10_000 },
        },
        (msg) => {
          if (typeof msg.body === 'string') log.debug('malformed worker event ignored')
          else onEvent(msg.body)
        },
      )
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
      await subscription?.close()
      subscription = undefined
    },
  }
}
