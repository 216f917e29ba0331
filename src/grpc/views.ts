import type { ServerDuplexStream } from '@grpc/grpc-js'
import { LRUCache } from 'lru-cache'
import type { CountersService } from '../counters/service.ts'
import { AppError } from '../errors.ts'
import type { Logger } from '../infra/logger.ts'
import type { GrpcMetrics } from './metrics.ts'
import type { ViewAck, ViewEvent } from './protos.ts'
import { invalid } from './status.ts'
import { openStream } from './stream.ts'

/** Events read but not yet acked, per stream: past this, reading pauses until acks go out. */
const MAX_IN_FLIGHT = 1024
const ITEM_ID = /^[1-9][0-9]{0,15}$/

interface Pending {
  settled: boolean
  ack?: ViewAck
  error?: unknown
}

function parseItemId(value: string): number {
  const id = Number(value)
  if (!ITEM_ID.test(value) || !Number.isSafeInteger(id))
    throw invalid('item_id', 'must be a positive integer item id (decimal)')
  return id
}

function parseVisitor(value: string, fallback: string): string {
  if (value.length > 128) throw invalid('visitor_id', 'must be at most 128 characters')
  return value === '' ? fallback : value
}

/** `host:port` (IPv6 without brackets, as grpc-js gives it) → host. */
const peerAddress = (peer: string) => peer.replace(/:\d+$/, '')

/**
 * `hotspot.v1.Views/Record`: every event goes through the counters service, exactly like
 * POST /api/items/:id/views. Events are started as they are read, so those that arrive together land in one
 * event-loop turn and the service sends them as one Redis call per bucket; acks go out in event order.
 *
 * An unknown item ends the stream with NOT_FOUND after the acks before it, and no event after it is counted:
 * events for an item not yet seen to exist wait until the first one is answered (once per item per process,
 * remembered in a bounded cache), so an unknown id never has later events counted behind it. (An item deleted
 * while its events are in flight is the one exception: events already started behind it still count.)
 */
export function viewsHandler(deps: { counters: CountersService; metrics: GrpcMetrics; log: Logger }) {
  const method = '/hotspot.v1.Views/Record'
  const methodMetrics = deps.metrics.forMethod(method)
  const knownItems = new LRUCache<number, true>({ max: 100_000 })

  return (call: ServerDuplexStream<ViewEvent, ViewAck>) => {
    const waiting: ViewEvent[] = [] // read, held behind an item not yet known to exist
    const started: Pending[] = [] // being counted (or refused), acked in this order
    let gated = false // an event for an unconfirmed item is in flight
    let refused = false // an event failed: nothing after it is started
    let clientDone = false
    const anonymous = `ip:${peerAddress(call.getPeer())}`
    const stream = openStream(call, {
      metrics: methodMetrics.start(),
      log: deps.log,
      method,
      canRead: () => waiting.length + started.length < MAX_IN_FLIGHT,
    })

    const flush = () => {
      while (started[0]?.settled) {
        const head = started.shift() as Pending
        if (head.error !== undefined) {
          started.length = 0
          waiting.length = 0
          return stream.fail(head.error)
        }
        stream.write(head.ack as ViewAck)
      }
      if (clientDone && started.length === 0 && waiting.length === 0) stream.finish()
      else stream.updateFlow()
    }

    const start = (event: ViewEvent) => {
      const pending: Pending = { settled: false }
      started.push(pending)
      let id: number
      let visitor: string
      try {
        id = parseItemId(event.item_id)
        visitor = parseVisitor(event.visitor_id, anonymous)
      } catch (error) {
        Object.assign(pending, { settled: true, error })
        refused = true
        return
      }
      const confirmed = knownItems.has(id)
      if (!confirmed) gated = true
      deps.counters
        .recordView(id, visitor)
        .then(
          (result) => {
            pending.ack = {
              item_id: event.item_id,
              views: result.views,
              unique_visitors: result.uniqueVisitors,
              counted: result.counted,
            }
            knownItems.set(id, true)
          },
          (error: unknown) => {
            pending.error = error
            refused = true
            if (error instanceof AppError && error.code === 'item_not_found') knownItems.delete(id)
          },
        )
        .then(() => {
          pending.settled = true
          if (!confirmed) {
            gated = false
            dispatch()
          }
          flush()
        })
    }

    const dispatch = () => {
      while (!gated && !refused && !stream.ended && waiting.length > 0) start(waiting.shift() as ViewEvent)
    }

    call.on('data', (event: ViewEvent) => {
      if (stream.ended || refused) return
      waiting.push(event)
      dispatch()
      flush()
    })
    stream.onClientEnd(() => {
      clientDone = true
      flush()
    })
    call.once('close', () => {
      waiting.length = 0 // cancelled: what was held is dropped; started events settle and are let go
    })
  }
}
