import type { Cmd, MethodParams } from 'rabbitmq-client'
import { declarations as delayDeclarations } from './delay-routing.ts'

/** Celery's default exchange, queue and routing key. */
export const DEFAULT_QUEUE = 'celery'
/** Messages that failed for good or could not be run; inspect with `hotspot tasks dlq`. */
export const DEAD_LETTER_QUEUE = 'hotspot.dlq'
export const EVENTS_EXCHANGE = 'hotspot.events'

export type QueueType = 'classic' | 'quorum'

type QueueDeclare = MethodParams[Cmd.QueueDeclare]
type ExchangeDeclare = MethodParams[Cmd.ExchangeDeclare]
type QueueBind = MethodParams[Cmd.QueueBind]

/**
 * Deliveries of one message a quorum queue allows before the broker dead-letters it (to `hotspot.dlq`, reason
 * `delivery_limit`). The worker gives up on a failing message after WORKER_MAX_DELIVERIES itself; this catches
 * what it cannot count (a message that crashes the worker) while letting a long outage (a requeue a second) pass.
 * Set explicitly: RabbitMQ 4 defaults to 20 and, with no dead-letter target, drops the message silently.
 */
export const QUORUM_DELIVERY_LIMIT = 1000

/** A quorum task queue's arguments: replicated, and nothing ever dropped without a trace in the dead letters. */
const quorumArguments = (): QueueDeclare['arguments'] => ({
  'x-queue-type': 'quorum',
  'x-delivery-limit': QUORUM_DELIVERY_LIMIT,
  'x-dead-letter-exchange': '',
  'x-dead-letter-routing-key': DEAD_LETTER_QUEUE,
  // At-most-once (the default) loses the dead letter if the DLQ does not take it; at-least-once needs this overflow.
  'x-dead-letter-strategy': 'at-least-once',
  'x-overflow': 'reject-publish',
})

/**
 * A task queue declared exactly as Celery does (exchange of the same name, direct, durable; queue durable with
 * no arguments; binding with the queue's name), or RabbitMQ answers 406 PRECONDITION_FAILED to whichever side
 * declares second. `celery` is always classic: that is what a stock Celery client declares.
 */
export function taskQueue(name: string, queueType: QueueType, maxPriority = 0) {
  const quorum = queueType === 'quorum' && name !== DEFAULT_QUEUE
  // Celery's Queues._set_max_priority: x-max-priority on every queue when task_queue_max_priority is set.
  // RabbitMQ's quorum queues have no priorities (3.x refuses the argument): those go without.
  const args: QueueDeclare['arguments'] = quorum
    ? quorumArguments()
    : maxPriority > 0
      ? { 'x-max-priority': maxPriority }
      : undefined
  const queue: QueueDeclare = {
    queue: name,
    durable: true,
    exclusive: false,
    autoDelete: false,
    arguments: args,
  }
  const exchange: ExchangeDeclare = { exchange: name, type: 'direct', durable: true, autoDelete: false }
  const binding: QueueBind = { queue: name, exchange: name, routingKey: name }
  return { queue, exchange, binding }
}

export function deadLetterQueue(queueType: QueueType): QueueDeclare {
  return {
    queue: DEAD_LETTER_QUEUE,
    durable: true,
    exclusive: false,
    autoDelete: false,
    arguments: queueType === 'quorum' ? { 'x-queue-type': 'quorum' } : undefined,
  }
}

/** The 28-level delay topology (kombu's native delayed delivery) with `queues` bound as delivery targets. */
export function delayTopology(queues: string[], queueType: QueueType) {
  return delayDeclarations({ queueType, targetQueues: queues })
}
