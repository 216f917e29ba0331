import type { Connection } from 'rabbitmq-client'
import { createDeclareCache } from './broker/declare-cache.ts'
import { deadLetterQueue, delayTopology, EVENTS_EXCHANGE, type QueueType, taskQueue } from './topology.ts'

/**
 * Declares (idempotently) what tasks need on the broker: the delay levels, the dead-letter queue, the events
 * exchange, and each task queue with its delay binding. Each queue is declared once per process; a broker that
 * lost its definitions gets them again on the next `reset()` (called after a reconnect).
 */
export function createDeclarer(amqp: Connection, queueType: QueueType, maxPriority = 0) {
  const base = createDeclareCache(declareBase)
  const queues = createDeclareCache(declareQueue)

  async function declareBase() {
    const delay = delayTopology([], queueType)
    for (const exchange of delay.exchanges) await amqp.exchangeDeclare(exchange)
    for (const queue of delay.queues) await amqp.queueDeclare(queue)
    for (const binding of delay.queueBindings) await amqp.queueBind(binding)
    for (const binding of delay.exchangeBindings) await amqp.exchangeBind(binding)
    await amqp.queueDeclare(deadLetterQueue(queueType))
    await amqp.exchangeDeclare({
      exchange: EVENTS_EXCHANGE,
      type: 'fanout',
      durable: true,
      autoDelete: false,
    })
  }

  async function declareQueue(name: string) {
    await ensureBase()
    const { queue, exchange, binding } = taskQueue(name, queueType, maxPriority)
    await amqp.exchangeDeclare(exchange)
    await amqp.queueDeclare(queue)
    await amqp.queueBind(binding)
    for (const delayBinding of delayTopology([name], queueType).queueBindings.filter(
      (b) => b.queue === name,
    )) {
      await amqp.queueBind(delayBinding)
    }
  }

  // The base is one entry of its own cache: declared once, again after a failure or a reset.
  const ensureBase = () => base.ensure('base')

  return {
    ensureBase,
    ensureQueue: queues.ensure,
    isQueueDone: queues.isDone,
    /** Forget what was declared, so it is declared again (after a reconnect to a broker that may be new). */
    reset() {
      base.reset()
      queues.reset()
    },
  }
}

export type Declarer = ReturnType<typeof createDeclarer>
