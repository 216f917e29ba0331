// Broker-side delays with kombu's "native delayed delivery" topology (Celery 5.5+), as plain data.
// Mirrors kombu/transport/native_delayed_delivery.py so a Celery 5.5 worker and hotspot share the same
// 28 queues: level N holds a message 2^N s, then dead-letters it to level N-1; the delay is written in binary
// in the routing key, one word per level, most significant first, followed by the real routing key.

import type { Cmd, MethodParams } from 'rabbitmq-client'

export const DELAY_LEVELS = 28
const MAX_LEVEL = DELAY_LEVELS - 1
/** 2^28 - 1 s, about 8.5 years. */
export const MAX_DELAY_SECONDS = 2 ** DELAY_LEVELS - 1
/** Where expired messages end up; target queues are bound to it with `#.<routing key>`. */
export const DELAYED_DELIVERY_EXCHANGE = 'celery_delayed_delivery'
/** Publish delayed messages here (Celery does too), with routing key delayRoutingKey(...). */
export const DELAY_ENTRY_EXCHANGE = levelName(MAX_LEVEL)

export type DelayQueueType = 'classic' | 'quorum'

export function levelName(level: number): string {
  if (!Number.isInteger(level) || level < 0 || level > MAX_LEVEL)
    throw new RangeError(`no delay level ${level}`)
  return `celery_delayed_${level}`
}

/**
 * `<28 binary digits, dotted>.<routingKey>`, e.g. 10 s → `0.….0.1.0.1.0.celery`. Fractions round up so a
 * message never arrives before its eta (kombu truncates; any whole number interoperates).
 */
export function delayRoutingKey(delaySeconds: number, routingKey: string): string {
  const whole = Math.ceil(delaySeconds)
  if (!Number.isFinite(delaySeconds) || whole < 1)
    throw new RangeError('delay must be a positive number of seconds')
  if (whole > MAX_DELAY_SECONDS) throw new RangeError(`delay must be at most ${MAX_DELAY_SECONDS} s`)
  if (!routingKey) throw new RangeError('routing key must be non-empty')
  const key = `${whole.toString(2).padStart(DELAY_LEVELS, '0').split('').join('.')}.${routingKey}`
  // AMQP routing keys are short strings.
  if (Buffer.byteLength(key) > 255) throw new RangeError('routing key too long for a delayed message')
  return key
}

/** Inverse of delayRoutingKey, for a delivered message: null when the key carries no delay prefix. */
export function parseDelayRoutingKey(key: string): { delaySeconds: number; routingKey: string } | null {
  const words = key.split('.')
  const bits = words.slice(0, DELAY_LEVELS)
  if (words.length <= DELAY_LEVELS || !bits.every((w) => w === '0' || w === '1')) return null
  return { delaySeconds: Number.parseInt(bits.join(''), 2), routingKey: words.slice(DELAY_LEVELS).join('.') }
}

/** Shaped as rabbitmq-client's publisher/consumer options, so they are re-declared after a reconnect. */
export interface DelayDeclarations {
  exchanges: MethodParams[Cmd.ExchangeDeclare][]
  queues: MethodParams[Cmd.QueueDeclare][]
  queueBindings: MethodParams[Cmd.QueueBind][]
  exchangeBindings: MethodParams[Cmd.ExchangeBind][]
}

export interface DelayDeclarationOptions {
  /**
   * Must match what a Celery 5.5 worker on the same broker declared (its
   * broker_native_delayed_delivery_queue_type defaults to quorum), or RabbitMQ answers 406. Default: classic.
   */
  queueType?: DelayQueueType
  /** Queues that receive delayed messages; their routing key is their name (default exchange). */
  targetQueues?: string[]
}

/** Everything to declare, in kombu's order; no AMQP calls. */
export function declarations(opts: DelayDeclarationOptions = {}): DelayDeclarations {
  const queueType = opts.queueType ?? 'classic'
  const out: DelayDeclarations = { exchanges: [], queues: [], queueBindings: [], exchangeBindings: [] }
  // Level L reads the digit at position 27 - L: `*.` skips the more significant ones.
  const skip = (level: number) => '*.'.repeat(MAX_LEVEL - level)

  for (let level = MAX_LEVEL; level >= 0; level--) {
    const name = levelName(level)
    out.exchanges.push({ exchange: name, type: 'topic', durable: true, autoDelete: false })
    const args: Record<string, string | number> = {
      'x-queue-type': queueType,
      'x-overflow': 'reject-publish',
      'x-message-ttl': 2 ** level * 1000,
      'x-dead-letter-exchange': level > 0 ? levelName(level - 1) : DELAYED_DELIVERY_EXCHANGE,
    }
    // Quorum queues dead-letter at most once by default; a lost hop would lose the task.
    if (queueType === 'quorum') args['x-dead-letter-strategy'] = 'at-least-once'
    out.queues.push({ queue: name, durable: true, exclusive: false, autoDelete: false, arguments: args })
    // A 1 at this level: wait here.
    out.queueBindings.push({ queue: name, exchange: name, routingKey: `${skip(level)}1.#` })
  }
  // A 0 at this level: pass straight on to the next level down, and from level 0 to delivery.
  for (let level = MAX_LEVEL; level >= 1; level--) {
    const routingKey = `${skip(level)}0.#`
    out.exchangeBindings.push({ destination: levelName(level - 1), source: levelName(level), routingKey })
  }
  out.exchanges.push({ exchange: DELAYED_DELIVERY_EXCHANGE, type: 'topic', durable: true, autoDelete: false })
  out.exchangeBindings.push({
    destination: DELAYED_DELIVERY_EXCHANGE,
    source: levelName(0),
    routingKey: `${skip(0)}0.#`,
  })

  // kombu binds the queue's own exchange and skips direct ones, which would leave Celery's default `celery`
  // queue (direct exchange) without delays. Binding the queue itself to the delivery exchange works for any
  // exchange type and declares nothing a Celery 5.2 worker would find inequivalent.
  for (const queue of opts.targetQueues ?? []) {
    out.queueBindings.push({ queue, exchange: DELAYED_DELIVERY_EXCHANGE, routingKey: `#.${queue}` })
  }
  return out
}
