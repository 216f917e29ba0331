/**
 * Celery's broadcasts on the Redis broker, as kombu 5.2's Redis transport carries them (kombu/transport/redis.py):
 * a fanout exchange is PUBLISH on the channel `/{db}.{exchange}` (`/{db}.{exchange}/{routing key}` when there is
 * one: kombu's fanout_patterns) and a fanout queue is a PSUBSCRIBE on its binding (`#` made `*`), so remote
 * control's `celery.pidbox` and the events' `celeryev` (which Celery turns from topic into fanout on Redis) reach
 * every subscriber; a direct exchange (the pidbox replies) is an LPUSH onto the lists its `_kombu.binding.*` set
 * names. Every message is kombu's JSON envelope with a base64 body.
 */
import { randomUUID } from 'node:crypto'
import type { Redis } from 'ioredis'
import type { Logger } from '../../../infra/logger.ts'
import { type BusExchange, type CeleryBus, parseJsonBody } from '../celery-bus.ts'
import { bindingKey, bindingMember, consumeKeys, decodeEnvelope, SEP } from './kombu.ts'

/** kombu's `keyprefix_fanout` for the connection's database. */
export const fanoutPrefix = (db: number) => `/${db}.`

/** kombu's `_get_publish_topic` (and `_get_subscribe_topic`, whose routing key had `#` made `*`). */
export function fanoutTopic(db: number, exchange: string, routingKey: string) {
  return routingKey ? `${fanoutPrefix(db)}${exchange}/${routingKey}` : `${fanoutPrefix(db)}${exchange}`
}

/**
 * kombu's envelope for a transient JSON message (delivery_mode 1), as its virtual channel's basic_publish fills it.
 * Spliced as a string: base64 needs no escaping, and re-serialising a batch of events' base64 body through
 * JSON.stringify showed in the events profile.
 */
function envelope(exchange: string, routingKey: string, body: unknown, headers: Record<string, unknown>) {
  const encoded = Buffer.from(JSON.stringify(body)).toString('base64')
  const properties = JSON.stringify({
    delivery_mode: 1,
    delivery_info: { exchange, routing_key: routingKey },
    priority: 0,
    body_encoding: 'base64',
    delivery_tag: randomUUID(),
  })
  return `{"body":"${encoded}","content-encoding":"utf-8","content-type":"application/json","headers":${JSON.stringify(headers)},"properties":${properties}}`
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** The bus on the Redis broker's connection (subscriptions and reply waits take connections of their own). */
export function createRedisCeleryBus(client: Redis, log: Logger): CeleryBus {
  const db = Number(client.options.db ?? 0)

  /** kombu's DirectExchange.lookup over the exchange's bindings. */
  async function boundQueues(exchange: string, routingKey: string) {
    const queues = new Set<string>()
    for (const member of await client.smembers(bindingKey(exchange))) {
      const [rk, , queue] = member.split(SEP)
      if (rk === routingKey && queue) queues.add(queue)
    }
    return [...queues]
  }

  const decode = (raw: string) => {
    const { message } = decodeEnvelope(raw, '')
    return { body: parseJsonBody(message.body), headers: message.headers ?? {} }
  }

  return {
    kind: 'redis',
    async publish(exchange: BusExchange, routingKey, body, headers) {
      const payload = envelope(exchange.name, routingKey, body, headers)
      if (exchange.type !== 'direct') {
        await client.publish(fanoutTopic(db, exchange.name, routingKey), payload)
        return
      }
      // Nobody bound (a caller that stopped waiting): dropped, as kombu drops it.
      for (const queue of await boundQueues(exchange.name, routingKey)) await client.lpush(queue, payload)
    },

    consume(spec, onMessage) {
      const member = bindingMember(spec.routingKey, '', spec.queue)
      const binding = bindingKey(spec.exchange.name)
      const conn = client.duplicate()
      conn.on('error', (error) => log.warn({ err: error, queue: spec.queue }, 'Redis bus connection error'))
      let open = true
      const deliver = async (raw: string) => {
        try {
          await onMessage(decode(raw))
        } catch (error) {
          log.warn({ err: error, queue: spec.queue }, 'broadcast message handler failed')
        }
      }

      if (spec.exchange.type !== 'direct') {
        // kombu's _queue_bind records the binding of a fanout queue too; the message itself goes by pub/sub.
        const topic = fanoutTopic(db, spec.exchange.name, spec.routingKey.replaceAll('#', '*'))
        conn.on('pmessage', (pattern: string, _channel: string, raw: string) => {
          if (pattern === topic) void deliver(raw)
        })
        const ready = client
          .sadd(binding, member)
          .then(() => conn.psubscribe(topic)) // ioredis subscribes again after a reconnect
          .then(() => undefined)
        ready.catch((error) => log.warn({ err: error, queue: spec.queue }, 'Redis bus subscribe failed'))
        return {
          ready,
          async close() {
            if (!open) return
            open = false
            conn.disconnect()
            await client.srem(binding, member).catch(() => {})
          },
        }
      }

      // A direct queue (a reply queue): its lists, read with BRPOP as kombu's consumer does.
      const keys = consumeKeys(spec.queue)
      const ready = client.sadd(binding, member).then(() => undefined)
      const loop = (async () => {
        await ready.catch(() => {})
        while (open) {
          try {
            const item = await conn.brpop(...keys, 1)
            if (item && open) await deliver(item[1])
          } catch (error) {
            if (!open) break
            log.warn({ err: error, queue: spec.queue }, 'Redis bus read failed (retried)')
            await sleep(500)
          }
        }
      })()
      return {
        ready,
        async close() {
          if (!open) return
          open = false
          conn.disconnect()
          await loop
          // kombu's after_reply_message_received: the reply queue is deleted, binding and lists.
          await client
            .multi()
            .srem(binding, member)
            .del(...keys)
            .exec()
            .catch(() => {})
        },
      }
    },

    async close() {},
  }
}
