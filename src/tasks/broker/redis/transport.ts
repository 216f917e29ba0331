/**
 * The broker on Redis, speaking kombu's Redis transport so Python Celery clients and workers share its queues:
 * a list per queue (and per priority step), LPUSH to publish and the right end to consume, `_kombu.binding.*`
 * sets, ack emulation with the `unacked` hash and `unacked_index` sorted set, and kombu's restore of messages
 * unacked longer than the visibility timeout (under kombu's `unacked_mutex`). What hotspot adds: taking and
 * recording a message is one script (kombu's BRPOP + pipeline can lose one), a running message's index score is
 * refreshed so a slow task is not restored under it, and delays wait in a sorted set in Redis.
 */
import { randomUUID } from 'node:crypto'
import type { Redis } from 'ioredis'
import { ConsumerStatus } from 'rabbitmq-client'
import type { Logger } from '../../../infra/logger.ts'
import { callScript, loadScripts } from '../../../infra/redis.ts'
import { createTurnBatcher } from '../../../infra/turn-batcher.ts'
import type { RawMessage } from '../../producer.ts'
import { MIN_DELAY_MS } from '../amqp.ts'
import { createDeclareCache } from '../declare-cache.ts'
import type { Broker, BrokerConsumer, ConsumeOptions, MessageOutcome } from '../types.ts'
import { listRedisDeadLetters, replayRedisDeadLetters } from './dead-letters.ts'
import {
  bindingKey,
  bindingMember,
  consumeKeys,
  DEFAULT_VISIBILITY_TIMEOUT_S,
  DELAYED,
  type Delivery,
  decodeEnvelope,
  delayedMember,
  encodeEnvelope,
  markRedelivered,
  queueKey,
  SEP,
  UNACKED,
  UNACKED_INDEX,
  UNACKED_MUTEX,
  UNACKED_MUTEX_EXPIRE_MS,
} from './kombu.ts'

export interface RedisBrokerOptions {
  /** The broker's own connection (not shared: its scripts are loaded on it). */
  client: Redis
  log: Logger
  /** kombu's `visibility_timeout` (s): an unacked message older than this goes back to its queue. */
  visibilityTimeoutSeconds?: number
  /** How long a consumer's blocking wait lasts before it looks again (also bounds priority-list latency). */
  blockSeconds?: number
  /** How often due delayed messages are moved (ms); runs while something consumes. */
  delayPollMs?: number
}

/** Tags per kombuAck call: a batch stays a short script for Redis' single thread. */
const ACK_BATCH = 500
/** Values per LPUSH of a turn's publishes to one list (a command of a few hundred kB at most). */
const PUSH_BATCH = 200
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const nowSeconds = () => Date.now() / 1000

export function createRedisBroker(options: RedisBrokerOptions): Broker & {
  /** kombu's restore_visible, once: returns how many messages went back to their queues. */
  restoreVisible(): Promise<number>
  /** Moves due delayed messages now: returns how many. */
  moveDue(): Promise<number>
  client: Redis
} {
  const { client, log } = options
  loadScripts(client, new URL('./', import.meta.url))
  const visibilityS = options.visibilityTimeoutSeconds ?? DEFAULT_VISIBILITY_TIMEOUT_S
  const blockSeconds = options.blockSeconds ?? 1
  // What a Celery client and worker declare on Redis: the queue's direct exchange of the same name.
  const declared = createDeclareCache(async (queue) => {
    await client.sadd(bindingKey(queue), bindingMember(queue, '', queue))
  })
  /** Delivery tags this process holds (fetched, not yet acked): kept fresh in the index, never self-restored. */
  const holding = new Set<string>()
  const consumers = new Set<BrokerConsumer>()
  let timers: NodeJS.Timeout[] = []
  // The acks of every handler that finished in one event-loop turn go in one kombuAck call (the script takes many
  // tags): one script run per batch instead of one per message. Each ack still resolves only once Redis ran it.
  const acks = createTurnBatcher<'ack', string, undefined>({
    maxBatch: ACK_BATCH,
    maxPending: 100_000,
    async send(_key, tags) {
      await callScript(client, 'kombuAck', [UNACKED, UNACKED_INDEX], tags)
      return tags.map(() => undefined)
    },
  })

  // Publishes of one turn to the same list go as one LPUSH of many values: the same order in the list (each
  // value is pushed at the head in turn) and the same answer (Redis has them all), one command instead of many.
  const pushes = createTurnBatcher<string, string, undefined>({
    maxBatch: PUSH_BATCH,
    maxPending: 100_000,
    async send(key, payloads) {
      await client.lpush(key, ...payloads)
      return payloads.map(() => undefined)
    },
  })

  async function publish(queue: string, message: RawMessage, delayMs = 0, opts?: { declare: boolean }) {
    if (opts?.declare !== false && !declared.isDone(queue)) await declared.ensure(queue)
    const key = queueKey(queue, message.properties.priority)
    const payload = encodeEnvelope(message, queue)
    if (delayMs >= MIN_DELAY_MS) await client.zadd(DELAYED, Date.now() + delayMs, delayedMember(key, payload))
    else await pushes.add(key, payload)
  }

  /** kombu's _lookup for a restore: anon exchange → the routing key; else the exchange's direct bindings. */
  async function lookup(exchange: string, routingKey: string): Promise<string[]> {
    if (!exchange) return [routingKey]
    const members = await client.smembers(bindingKey(exchange))
    const queues = new Set<string>()
    for (const member of members) {
      const [rk, , queue] = member.split(SEP)
      if (rk === routingKey && queue) queues.add(queue)
    }
    // kombu would drop it (no deadletter_queue by default); the routing key is Celery's queue name.
    return queues.size ? [...queues] : [routingKey]
  }

  /** kombu's restore_by_tag: back to its queue(s) flagged redelivered, unless acked meanwhile. */
  async function restoreTag(tag: string, leftmost: boolean): Promise<boolean> {
    const value = await client.hget(UNACKED, tag)
    if (value === null) {
      await client.zrem(UNACKED_INDEX, tag)
      return false
    }
    let payload: string
    let targets: string[]
    try {
      const [raw, exchange, routingKey] = JSON.parse(value) as [unknown, string, string]
      payload = markRedelivered(JSON.stringify(raw))
      targets = await lookup(String(exchange ?? ''), String(routingKey ?? ''))
    } catch (error) {
      log.warn({ err: error, tag }, 'unacked message is not a kombu envelope, left in place')
      return false
    }
    const keys = [UNACKED, UNACKED_INDEX, ...targets]
    const done = await callScript<number>(
      client,
      'kombuRestore',
      [String(keys.length), ...keys],
      [tag, value, leftmost ? '1' : '0', payload],
    )
    return done === 1
  }

  async function restoreVisible(): Promise<number> {
    const token = randomUUID()
    const locked = await client.set(UNACKED_MUTEX, token, 'PX', UNACKED_MUTEX_EXPIRE_MS, 'NX')
    if (locked !== 'OK') return 0 // another worker (hotspot or Python) is restoring
    try {
      const ceiling = nowSeconds() - visibilityS
      const tags = await client.zrangebyscore(UNACKED_INDEX, 0, ceiling)
      let restored = 0
      for (const tag of tags) {
        if (holding.has(tag)) continue
        if (await restoreTag(tag, false)) restored++
      }
      if (restored) log.warn({ restored }, 'unacked messages past the visibility timeout restored')
      return restored
    } finally {
      await callScript(client, 'kombuReleaseMutex', [UNACKED_MUTEX], [token])
    }
  }

  const moveDue = () => callScript<number>(client, 'kombuMoveDue', [DELAYED], [Date.now(), 500])

  /** Keeps this process's held messages from looking abandoned to any restorer (hotspot's or Python's). */
  async function refreshHeld() {
    if (!holding.size) return
    const now = nowSeconds()
    const args: (string | number)[] = []
    for (const tag of holding) args.push(now, tag)
    await client.zadd(UNACKED_INDEX, 'XX', ...args)
  }

  function startTimers() {
    if (timers.length) return
    const every = (ms: number, fn: () => Promise<unknown>, what: string) => {
      const timer = setInterval(() => {
        fn().catch((error) => log.warn({ err: error }, `Redis broker: ${what} failed (retried)`))
      }, ms)
      timer.unref()
      timers.push(timer)
    }
    every(options.delayPollMs ?? 250, moveDue, 'moving due delayed messages')
    const restoreMs = Math.min(10_000, Math.max(200, (visibilityS * 1000) / 2))
    every(restoreMs, restoreVisible, 'restoring unacked messages')
    every(Math.max(100, (visibilityS * 1000) / 4), refreshHeld, 'refreshing held messages')
  }

  function consume(
    queue: string,
    opts: ConsumeOptions,
    handler: (msg: Delivery['message']) => Promise<MessageOutcome>,
    onError: (error: unknown) => void,
  ): BrokerConsumer {
    const keys = consumeKeys(queue)
    const blocking = client.duplicate()
    blocking.on('error', () => {}) // reported by the loop below
    const limit = Math.max(1, opts.prefetch > 0 ? opts.prefetch : opts.concurrency)
    const refillAt = Math.max(1, Math.floor(limit / 4))
    const waiting: Delivery[] = []
    /** Handlers running: at most `concurrency`. */
    const running = new Set<Promise<unknown>>()
    /** Finished, their ack (or requeue) on its way: still unacked, so still inside the prefetch window. */
    const settling = new Set<Promise<void>>()
    let open = true
    let wake: (() => void) | undefined
    const slotFreed = () => new Promise<void>((r) => (wake = r))

    async function settle(delivery: Delivery, outcome: MessageOutcome) {
      const tag = delivery.deliveryTag
      if (!tag) return // not an envelope: never recorded as unacked
      for (;;) {
        try {
          if (outcome === ConsumerStatus.REQUEUE) await restoreTag(tag, true)
          else await acks.add('ack', tag)
          holding.delete(tag)
          return
        } catch (error) {
          // Still unacked in Redis, so never lost: retry while open; after close the visibility timeout restores it.
          onError(error)
          if (!open) return
          await sleep(1000)
        }
      }
    }

    function pump() {
      while (running.size < opts.concurrency && waiting.length) {
        const delivery = waiting.shift() as Delivery
        const run = (async (): Promise<MessageOutcome> => {
          try {
            return await handler(delivery.message)
          } catch (error) {
            onError(error)
            return ConsumerStatus.REQUEUE
          }
        })()
        running.add(run)
        // The handler's slot frees as soon as it has its outcome (the result is stored by then); the ack goes on in
        // the background, the message counted in the prefetch window until Redis has it. A slot waiting for its ack
        // too would make every task wait one more round trip before the next one starts.
        void run.then((outcome) => {
          running.delete(run)
          const settled = settle(delivery, outcome).finally(() => {
            settling.delete(settled)
            wake?.()
          })
          settling.add(settled)
          pump()
        })
      }
    }

    async function loop() {
      // A closed client (the broker closed, or a test's "kill") ends the loop.
      while (open && client.status !== 'end') {
        const room = limit - waiting.length - running.size - settling.size
        // While messages still wait for a handler, fetch only once a quarter of the window is free: one Lua call
        // then takes a batch, instead of one call per freed slot.
        if (room <= 0 || (waiting.length > 0 && room < refillAt)) {
          await slotFreed()
          continue
        }
        try {
          const flat = await callScript<string[]>(
            client,
            'kombuFetch',
            [String(keys.length + 2), UNACKED, UNACKED_INDEX, ...keys],
            [room, nowSeconds()],
          )
          if (!open) {
            // Taken while closing: back to the front of the queue, as kombu's restore at shutdown.
            for (let i = 0; i < flat.length; i += 2) if (flat[i]) await restoreTag(flat[i] as string, false)
            break
          }
          for (let i = 0; i < flat.length; i += 2) {
            const tag = flat[i] as string
            if (tag) holding.add(tag)
            waiting.push(decodeEnvelope(flat[i + 1] as string, tag))
          }
          if (flat.length) {
            pump()
            continue
          }
          // Nothing there: wait on the queue's main list without taking anything (a rotation of the list onto
          // itself returns when an item is there), then fetch again. Priority lists are seen at the latest
          // after blockSeconds.
          await blocking.blmove(queue, queue, 'RIGHT', 'RIGHT', blockSeconds)
        } catch (error) {
          if (!open) break
          onError(error)
          await sleep(1000)
        }
      }
      blocking.disconnect()
    }

    startTimers()
    const looping = loop()
    const consumer: BrokerConsumer = {
      async close() {
        if (!open) return
        open = false
        wake?.()
        blocking.disconnect()
        await looping
        // Fetched but not started: give them back first in line (kombu's restore_unacked at shutdown).
        for (const delivery of waiting.splice(0)) {
          if (!delivery.deliveryTag) continue
          await restoreTag(delivery.deliveryTag, false).catch(onError)
          holding.delete(delivery.deliveryTag)
        }
        await Promise.all(running)
        await Promise.all(settling)
        consumers.delete(consumer)
      },
    }
    consumers.add(consumer)
    return consumer
  }

  return {
    kind: 'redis',
    client,
    publish,
    ensureQueue: declared.ensure,
    consume,
    restoreVisible,
    moveDue,
    async depth(queue) {
      const keys = consumeKeys(queue)
      const [lengths, bound] = await Promise.all([
        Promise.all(keys.map((k) => client.llen(k))),
        client.exists(bindingKey(queue)),
      ])
      const messages = lengths.reduce((a, b) => a + b, 0)
      // kombu's transport keeps no consumer registry: Redis cannot say who consumes.
      return { messages: messages || bound ? messages : null, consumers: null }
    },
    delayedCount: () => client.zcard(DELAYED),
    listDeadLetters: (limit) => listRedisDeadLetters(client, limit),
    replayDeadLetters: (producer, select) => replayRedisDeadLetters(client, producer, select),
    async ready(timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs
      for (;;) {
        try {
          await client.ping()
          return
        } catch (error) {
          if (Date.now() > deadline) throw error
          await sleep(200)
        }
      }
    },
    async ping() {
      try {
        return (await client.ping()) === 'PONG'
      } catch {
        return false
      }
    },
    async close() {
      await Promise.all([...consumers].map((c) => c.close()))
      for (const timer of timers) clearInterval(timer)
      timers = []
      client.disconnect()
    },
  }
}
