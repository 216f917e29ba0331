// Celery's event dispatcher (celery/events/dispatcher.py), the wire truth being
// test/fixtures/celery/fixtures/control_events.json: what Flower and `celery events` read.
import os from 'node:os'
import type { Logger } from '../../infra/logger.ts'
import { createTurnBatcher } from '../../infra/turn-batcher.ts'
import type { BusExchange, CeleryBus } from '../broker/celery-bus.ts'
import { LamportClock } from './clock.ts'

/** Celery's event exchange: topic, durable (celery.events.event.exchange); on Redis the bus makes it fanout. */
export const CELERY_EVENT_EXCHANGE = 'celeryev'
export const CELERYEV: BusExchange = { name: CELERY_EVENT_EXCHANGE, type: 'topic', durable: true }

/** Hours west of UTC, as celery.utils.time.utcoffset() counts them (the receiver corrects timestamps with it). */
export function utcoffset(now = new Date()): number {
  return Math.floor((now.getTimezoneOffset() * 60) / 3600)
}

/** utcoffset() for every event: it changes twice a year, a Date per event showed in the profile. */
let offsetCache = { value: utcoffset(), until: 0 }
const currentUtcoffset = () => {
  const now = Date.now()
  if (now >= offsetCache.until) offsetCache = { value: utcoffset(new Date(now)), until: now + 60_000 }
  return offsetCache.value
}

/** Events waiting or in flight; past it new ones are dropped (an outage must not pile them up). */
const MAX_IN_FLIGHT = 1000
/** Celery's EventDispatcher buffer_limit: the most events in one `<group>.multi` message. */
const BUFFER_LIMIT = 24
/** The groups Celery's worker buffers (celery/worker/consumer/events.py: buffer_group=['task']). */
const BUFFERED_GROUPS = new Set(['task'])
const DONE = Promise.resolve()

export type EventFields = Record<string, unknown>

/**
 * Publishes `{hostname, utcoffset, pid, clock, ...fields, timestamp, type}` to `celeryev`, transient, JSON, header
 * `hostname`, like Celery's EventDispatcher.send (on Redis: PUBLISH on `/{db}.celeryev/<routing key>`, as kombu's
 * fanout). Worker events go one per message, routing key `type` dashes made dots (`worker-heartbeat` →
 * `worker.heartbeat`). Task events are buffered as Celery's worker buffers them: those of one event-loop turn
 * leave together as `task.multi` messages whose body is a list of up to 24 events (Celery's Receiver, and so
 * Flower, reads list bodies), one publish for many instead of three or four per task. Groups (`task`, `worker`)
 * switch on and off as -E / enable_events do. Events are best effort, as in Celery: a failed publish is logged
 * and dropped, never fails a task.
 */
export function createEventDispatcher(
  bus: CeleryBus,
  options: { hostname: string; log: Logger; groups: Iterable<string>; clock?: LamportClock },
) {
  const { hostname, log } = options
  // Celery's EventDispatcher uses app.clock: a worker passes the clock its mailbox adjusts.
  const clock = options.clock ?? new LamportClock()
  const groups = new Set(options.groups)
  let inFlight = 0
  let warned = false
  const published = () => {
    warned = false
  }
  const dropped = (error: unknown, type: string) => {
    if (!warned) log.warn({ err: error, type }, 'celery event not sent (events are best effort)')
    warned = true
  }
  // Nobody waits for a buffered event (push, no promise each): the batch's send logs its own failure.
  const buffered = createTurnBatcher<string, EventFields, undefined>({
    async send(group, events) {
      await bus
        .publish(CELERYEV, `${group}.multi`, events, { hostname })
        .then(published, (error: unknown) => dropped(error, `${group}.multi`))
      return new Array(events.length)
    },
    maxBatch: BUFFER_LIMIT,
    maxPending: MAX_IN_FLIGHT,
  })

  /** A worker event: resolves once published or dropped. A task event: at once (close() waits for it). Never rejects. */
  function send(type: string, fields: EventFields = {}): Promise<void> {
    const group = type.split('-', 1)[0] as string
    if (!groups.has(group) || inFlight + buffered.pending() >= MAX_IN_FLIGHT) return DONE
    const event = {
      hostname,
      utcoffset: currentUtcoffset(),
      pid: process.pid,
      clock: clock.forward(),
      ...fields,
      timestamp: Date.now() / 1000,
      type,
    }
    if (BUFFERED_GROUPS.has(group)) {
      buffered.push(group, event)
      return DONE
    }
    inFlight += 1
    return bus
      .publish(CELERYEV, type.replaceAll('-', '.'), event, { hostname })
      .then(published, (error: unknown) => dropped(error, type))
      .finally(() => {
        inFlight -= 1
      })
  }

  return {
    hostname,
    send,
    /** Whether events of `group` are sent. */
    enabled: (group: string) => groups.has(group),
    /** Turns a group on or off; true when that changed something (Celery's "already enabled" otherwise). */
    toggle(group: string, on: boolean): boolean {
      if (groups.has(group) === on) return false
      if (on) groups.add(group)
      else groups.delete(group)
      return true
    },
    /** Waits for the events in flight (the bus itself belongs to the task system). */
    async close() {
      for (let i = 0; i < 50 && inFlight + buffered.pending() > 0; i++)
        await new Promise((r) => setTimeout(r, 20))
    },
  }
}

export type EventDispatcher = ReturnType<typeof createEventDispatcher>

/** Celery's load_average(): the three load averages rounded to two decimals. */
const loadavg = () => os.loadavg().map((n) => Math.round(n * 100) / 100)

/** Celery's SOFTWARE_INFO, for this peer. */
const SOFTWARE_INFO = { sw_ident: 'hotspot', sw_ver: '0.1.0', sw_sys: os.type() }

/**
 * Celery's Heart (celery/worker/heartbeat.py): `worker-online` at start, `worker-heartbeat` every `freq`
 * seconds, `worker-offline` at stop, each with freq, active, processed, loadavg and the software info.
 */
export function startHeart(
  dispatcher: EventDispatcher,
  state: { active(): number; processed(): number },
  freqSeconds = 2,
) {
  const beat = (type: string) =>
    dispatcher.send(type, {
      freq: freqSeconds,
      active: state.active(),
      processed: state.processed(),
      loadavg: loadavg(),
      ...SOFTWARE_INFO,
    })
  beat('worker-online')
  const timer = setInterval(() => beat('worker-heartbeat'), freqSeconds * 1000)
  timer.unref()
  return {
    /** Celery's answer to the `heartbeat` control command: freq 5 and the software info only. */
    beatNow: () => dispatcher.send('worker-heartbeat', { freq: 5, ...SOFTWARE_INFO }),
    stop() {
      clearInterval(timer)
      return beat('worker-offline')
    },
  }
}
