/**
 * AMQP `multiple` acks for a rabbitmq-client Consumer, by hand because its Consumer acks each message alone.
 *
 * A channel's delivery tags count up from 1 and a Consumer has its channel to itself. Acks the handlers give
 * during one event-loop turn are held to the end of the turn; then the run of settled tags right above the
 * highest tag known settled on the server (the floor) goes as ONE `basic.ack multiple` for the highest of them:
 * it covers only messages whose handler already acked (anything not settled breaks the run). Acks above a gap (a
 * lower message still running) are sent alone at once, as before, so they never hold the prefetch window. Nacks
 * pass straight through. Nothing is acked earlier than rabbitmq-client would; only fewer frames reach RabbitMQ.
 *
 * It relies on one internal of rabbitmq-client 5.x: `consumer._ch`, the Consumer's current channel (a new one
 * after a reconnect, installed on each 'ready'); test/tasks/amqp-acks.test.ts fails if that changes, and
 * without it the Consumer acks each message alone as before.
 */
import type { Channel, Consumer } from 'rabbitmq-client'

/** Tags settled alone above a gap kept to move the floor later; past this (a task blocking for long) give up. */
const MAX_SETTLED_ABOVE_FLOOR = 100_000

export function coalesceAcks(consumer: Consumer, onError: (error: unknown) => void): void {
  const wrapped = new WeakSet<Channel>()
  consumer.on('ready', () => {
    const ch = (consumer as unknown as { _ch?: Channel })._ch
    if (!ch || wrapped.has(ch)) return
    wrapped.add(ch)
    coalesceChannelAcks(ch, onError)
  })
}

/** Exported for the test: the same on any channel whose deliveries all go to one consumer. */
export function coalesceChannelAcks(ch: Channel, onError: (error: unknown) => void): void {
  const basicAck = ch.basicAck.bind(ch)
  const basicNack = ch.basicNack.bind(ch)
  const close = ch.close.bind(ch)
  let floor = 0 // every tag <= floor is settled on the server
  const held = new Set<number>() // acked by a handler this turn, not sent yet
  const settled = new Set<number>() // above the floor, sent (acked alone or nacked)
  let scheduled = false
  let enabled = true

  const send = (params: Parameters<Channel['basicAck']>[0]) => {
    try {
      basicAck(params)
    } catch (error) {
      onError(error) // the channel closed: RabbitMQ delivers those messages again
    }
  }

  function flush() {
    scheduled = false
    if (!held.size) return
    let multipleUpTo = 0
    let tag = floor + 1
    for (; held.has(tag) || settled.has(tag); tag++) {
      if (held.delete(tag)) multipleUpTo = tag
      else settled.delete(tag)
    }
    floor = tag - 1
    if (multipleUpTo) send({ deliveryTag: multipleUpTo, multiple: true })
    for (const alone of held) {
      send({ deliveryTag: alone })
      settled.add(alone)
    }
    held.clear()
    if (settled.size > MAX_SETTLED_ABOVE_FLOOR) {
      enabled = false
      settled.clear()
    }
  }

  ch.basicAck = (params) => {
    if (!enabled || params.multiple || params.deliveryTag === undefined) return basicAck(params)
    held.add(params.deliveryTag)
    if (!scheduled) {
      scheduled = true
      setImmediate(flush)
    }
  }
  ch.basicNack = (params) => {
    if (!params.multiple && params.deliveryTag !== undefined) settled.add(params.deliveryTag)
    return basicNack(params)
  }
  // Held acks go out before the channel closes (a consumer's close waits for its handlers, then closes).
  ch.close = () => {
    flush()
    return close()
  }
}
