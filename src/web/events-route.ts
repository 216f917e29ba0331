import type { OutgoingHttpHeaders, ServerResponse } from 'node:http'
import { Gauge } from 'prom-client'
import { Type } from 'typebox'
import { Compile } from 'typebox/compile'
import { LIVE_VIEWS_TOPIC } from '../counters/live.ts'
import { AppError } from '../errors.ts'
import type { Http } from '../infra/http.ts'
import type { Logger } from '../infra/logger.ts'
import type { Metrics } from '../infra/metrics.ts'
import type { EventBus } from '../tasks/types.ts'

/** A comment line now and then keeps proxies and browsers from closing an idle stream. */
const HEARTBEAT_MS = 15_000
/** What EventSource waits before reconnecting after the stream drops. */
const RETRY_MS = 2000
/**
 * Bytes a client may leave unread before it is dropped: a stalled reader would otherwise keep every event in
 * this process's memory. A few full events (1000 items, ~60 KB each); a browser that reads keeps it near 0.
 */
export const MAX_UNREAD_BYTES = 256 * 1024

/** Counts are whole numbers, ids positive; at most the 1000 items the counters put in one event. */
const Count = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER })
const LiveViews = Type.Object({
  prefix: Type.String(),
  items: Type.Array(
    Type.Object({
      id: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }),
      views: Count,
      uniqueVisitors: Count,
    }),
    { maxItems: 1000 },
  ),
})
const liveViews = Compile(LiveViews)

export interface EventStreamLimits {
  /** Streams this process holds at once; past it a new one gets 503 (each holds a socket and a buffer). */
  maxClients: number
  /** Streams one client address may hold (0: no limit); past it 429. Behind a proxy all share its address. */
  maxClientsPerAddress: number
}

/**
 * `GET /api/events`: server-sent events for the web UI. Every API process hears the `hotspot.events` fanout on
 * its own queue and relays it to the browsers connected to it, so a view counted on any process reaches all
 * pages. Event `views`: `{"items":[{"id","views","uniqueVisitors"}]}`, aggregated by the counters (a few per
 * second, never one per view). What comes off the bus is checked and rebuilt field by field before it reaches a
 * browser: another publisher on the broker cannot make pages run or show what it likes.
 */
export function createEventStream(deps: {
  events: EventBus
  prefix: string
  limits: EventStreamLimits
  log: Logger
  metrics: Metrics
}) {
  const { events, prefix, limits, log, metrics } = deps
  const clients = new Map<ServerResponse, string>()
  const perAddress = new Map<string, number>()
  let heartbeat: NodeJS.Timeout | undefined
  new Gauge({
    name: 'hotspot_sse_clients',
    help: 'Event streams (GET /api/events) open on this process',
    registers: [metrics.registry],
    collect() {
      this.set(clients.size)
    },
  })
  const dropped = metrics.counter(
    'hotspot_sse_dropped_total',
    'Event streams ended by the server, by reason',
    ['reason'],
  )
  const refused = metrics.counter('hotspot_sse_refused_total', 'Event streams refused, by reason', ['reason'])
  const rejectedEvents = metrics.counter(
    'hotspot_sse_invalid_events_total',
    'Bus events not relayed: malformed',
  )

  function drop(res: ServerResponse) {
    const address = clients.get(res)
    if (address === undefined) return
    clients.delete(res)
    const count = (perAddress.get(address) ?? 1) - 1
    if (count <= 0) perAddress.delete(address)
    else perAddress.set(address, count)
    if (clients.size === 0 && heartbeat) {
      clearInterval(heartbeat)
      heartbeat = undefined
    }
  }

  const broadcast = (chunk: string) => {
    for (const res of clients.keys()) {
      res.write(chunk)
      // Back-pressure: a reader that does not drain is let go rather than buffered for without end.
      if (res.writableLength > MAX_UNREAD_BYTES) {
        dropped.labels('slow_consumer').inc()
        drop(res)
        res.destroy()
      }
    }
  }

  const unsubscribe = events.on(LIVE_VIEWS_TOPIC, (payload) => {
    if (clients.size === 0 || (payload as { prefix?: unknown } | null)?.prefix !== prefix) return
    if (!liveViews.Check(payload)) {
      rejectedEvents.inc()
      log.warn({ topic: LIVE_VIEWS_TOPIC }, 'a malformed live-counts event was not relayed to browsers')
      return
    }
    // Only the three known fields: anything else a publisher added stays on the bus.
    const items = payload.items.map(({ id, views, uniqueVisitors }) => ({ id, views, uniqueVisitors }))
    broadcast(`event: views\ndata: ${JSON.stringify({ items })}\n\n`)
  })

  /** Why a new stream from this address is refused, or undefined to take it. */
  function admit(address: string): AppError | undefined {
    if (clients.size >= limits.maxClients) {
      refused.labels('max_clients').inc()
      return new AppError('unavailable', 'too many event streams open on this server, try again shortly')
    }
    if (limits.maxClientsPerAddress > 0 && (perAddress.get(address) ?? 0) >= limits.maxClientsPerAddress) {
      refused.labels('per_address').inc()
      return new AppError(
        'rate_limited',
        `at most ${limits.maxClientsPerAddress} event streams per client address; close one first`,
        { details: { retryAfter: RETRY_MS / 1000 } },
      )
    }
    return undefined
  }

  return {
    routes(app: Http) {
      app.get(
        '/api/events',
        {
          schema: {
            tags: ['web'],
            description:
              'Server-sent events (text/event-stream). Event `views`: `{"items":[{"id","views","uniqueVisitors"}]}` ' +
              'with the new counts of items viewed lately, at most a few times a second. 503 `unavailable` when ' +
              'the server holds its maximum of streams, 429 `rate_limited` past the per-address maximum.',
          },
        },
        (request, reply) => {
          const address = request.ip
          const refusal = admit(address)
          if (refusal) return reply.header('retry-after', RETRY_MS / 1000).send(refusal)
          reply.hijack() // the stream outlives the handler; Fastify must not answer for us
          const res = reply.raw
          res.writeHead(200, {
            // The security headers set on every answer (infra/security-headers.ts).
            ...(reply.getHeaders() as OutgoingHttpHeaders),
            'content-type': 'text/event-stream; charset=utf-8',
            'cache-control': 'no-cache, no-transform',
            connection: 'keep-alive',
            'x-accel-buffering': 'no', // nginx: do not buffer the stream
          })
          res.write(`retry: ${RETRY_MS}\n: connected\n\n`)
          clients.set(res, address)
          perAddress.set(address, (perAddress.get(address) ?? 0) + 1)
          heartbeat ??= setInterval(() => broadcast(': ping\n\n'), HEARTBEAT_MS).unref()
          request.raw.once('close', () => drop(res))
          res.once('close', () => drop(res))
        },
      )
      // Open streams would hold the server's close forever: end them first.
      app.addHook('preClose', async () => {
        for (const res of [...clients.keys()]) {
          drop(res)
          res.end()
        }
      })
    },

    close() {
      unsubscribe()
      for (const res of [...clients.keys()]) {
        drop(res)
        res.end()
      }
      if (heartbeat) clearInterval(heartbeat)
      heartbeat = undefined
    },
  }
}
