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
 * A task queue declared exactly as Celery does (exchange of the same name, direct, durable; queue durable with
 * no arguments; binding with the queue's name), or RabbitMQ answers 406 PRECONDITION_FAILED to whichever side
 * declares second. `celery` is always classic: that is what a stock Celery client declares.
 */
export function taskQueue(name: string, queueType: QueueType, maxPriority = 0) {
  const quorum = queueType === 'quorum' && name !== DEFAULT_QUEUE
  // Celery's Queues._set_max_priority: x-max-priority on every queue when task_queue_max_priority is set.
  // RabbitMQ's quorum queues have no priorities (3.x refuses the argument): those go without.
  const args: QueueDeclare['arguments'] = quorum
    ? { 'x-queue-type': 'quorum' }
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
