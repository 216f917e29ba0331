import type { ServerResponse } from 'node:http'
import { LIVE_VIEWS_TOPIC, type LiveViewsEvent } from '../counters/live.ts'
import type { Http } from '../infra/http.ts'
import type { EventBus } from '../tasks/types.ts'

/** A comment line now and then keeps proxies and browsers from closing an idle stream. */
const HEARTBEAT_MS = 15_000
/** What EventSource waits before reconnecting after the stream drops. */
const RETRY_MS = 2000

/**
 * `GET /api/events`: server-sent events for the web UI. Every API process hears the `hotspot.events` fanout on
 * its own queue and relays it to the browsers connected to it, so a view counted on any process reaches all
 * pages. Event `views`: `{"items":[{"id","views","uniqueVisitors"}]}`, aggregated by the counters (a few per
 * second, never one per view).
 */
export function createEventStream(events: EventBus, prefix: string) {
  const clients = new Set<ServerResponse>()
  let heartbeat: NodeJS.Timeout | undefined

  const broadcast = (chunk: string) => {
    for (const res of clients) res.write(chunk)
  }
  const unsubscribe = events.on(LIVE_VIEWS_TOPIC, (payload) => {
    const event = payload as Partial<LiveViewsEvent> | null
    if (clients.size === 0 || event?.prefix !== prefix || !Array.isArray(event.items)) return
    broadcast(`event: views\ndata: ${JSON.stringify({ items: event.items })}\n\n`)
  })

  function drop(res: ServerResponse) {
    clients.delete(res)
    if (clients.size === 0 && heartbeat) {
      clearInterval(heartbeat)
      heartbeat = undefined
    }
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
              'with the new counts of items viewed lately, at most a few times a second.',
          },
        },
        (request, reply) => {
          reply.hijack() // the stream outlives the handler; Fastify must not answer for us
          const res = reply.raw
          res.writeHead(200, {
            'content-type': 'text/event-stream; charset=utf-8',
            'cache-control': 'no-cache, no-transform',
            connection: 'keep-alive',
            'x-accel-buffering': 'no', // nginx: do not buffer the stream
          })
          res.write(`retry: ${RETRY_MS}\n: connected\n\n`)
          clients.add(res)
          heartbeat ??= setInterval(() => broadcast(': ping\n\n'), HEARTBEAT_MS).unref()
          request.raw.once('close', () => drop(res))
        },
      )
      // Open streams would hold the server's close forever: end them first.
      app.addHook('preClose', async () => {
        for (const res of clients) res.end()
        clients.clear()
      })
    },

    close() {
      unsubscribe()
      for (const res of clients) res.end()
      clients.clear()
      if (heartbeat) clearInterval(heartbeat)
      heartbeat = undefined
    },
  }
}
