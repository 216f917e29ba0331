/**
 * The task system, assembled: registry, producer, Redis result backend, event bus, beat and worker. The
 * composition root creates one per process; which parts run (worker, beat) depends on the role.
 */

import { hostname } from 'node:os'
import { Cluster } from 'ioredis'
import type { Connection } from 'rabbitmq-client'
import type { Logger } from '../infra/logger.ts'
import type { Metrics } from '../infra/metrics.ts'
import { loadScripts, type RedisClient } from '../infra/redis.ts'
import { createBeat } from './beat.ts'
import { createAmqpBroker } from './broker/amqp.ts'
import { type CeleryBus, createAmqpCeleryBus } from './broker/celery-bus.ts'
import type { Broker } from './broker/types.ts'
import { registerBuiltinTasks } from './builtin.ts'
import { type Canvas, sendCanvas } from './canvas/build.ts'
import { createChordStore } from './canvas/chord.ts'
import { createEventDispatcher } from './celeryev/dispatcher.ts'
import { sentFields } from './celeryev/task-events.ts'
import { createDeclarer } from './declare.ts'
import { createEventBus } from './events.ts'
import { createRedisEventBus } from './events-redis.ts'
import { createTaskMetrics } from './metrics.ts'
import { createProducer } from './producer.ts'
import { createRegistry } from './registry.ts'
import { createResultBackend } from './results.ts'
import type { QueueType } from './topology.ts'
import { createWorker } from './worker.ts'

export interface TaskSystemOptions {
  /** Absent in a Redis-only deployment (BROKER_URL=redis://, no AMQP_URL): then `broker` is required. */
  amqp?: Connection
  /** Where task messages go: default RabbitMQ (`amqp`); a Redis broker when BROKER_URL is redis://. */
  broker?: Broker
  /**
   * Remote control and Celery events, on the task broker as Celery runs them: RabbitMQ's by default, kombu's Redis
   * fanout (broker/redis/fanout.ts) with a Redis broker.
   */
  bus?: CeleryBus
  redis: RedisClient
  log: Logger
  metrics: Metrics
  prefix: string
  queueType: QueueType
  queues: { defaultQueue: string; ownQueue: string; maxPriority?: number }
  worker: {
    queues: string[]
    concurrency: number
    prefetch: number
    maxDeliveries?: number
    name?: string
    /** WORKER_SEND_EVENTS: the worker's task events. */
    sendEvents?: boolean
    /** TASK_SEND_SENT_EVENT: `task-sent` from this process's producer. */
    sendSentEvent?: boolean
  }
  beat?: { lockTtlMs?: number }
}

export function createTaskSystem(options: TaskSystemOptions) {
  const { amqp, redis, log } = options
  loadScripts(redis, new URL('./', import.meta.url))
  const registry = createRegistry()
  registerBuiltinTasks(registry, options.queues.defaultQueue)
  const declarer = amqp ? createDeclarer(amqp, options.queueType, options.queues.maxPriority) : undefined
  // A broker that restarted may have lost non-durable state: declare again on every (re)connection.
  amqp?.on('connection', () => declarer?.reset())
  const broker =
    options.broker ??
    (amqp && declarer
      ? createAmqpBroker(amqp, declarer, options.queueType, options.queues.maxPriority)
      : undefined)
  if (!broker) throw new Error('the task system needs a broker: RabbitMQ (AMQP_URL) or Redis (BROKER_URL)')
  const bus = options.bus ?? (amqp && broker.kind === 'amqp' ? createAmqpCeleryBus(amqp, log) : undefined)
  const taskMetrics = createTaskMetrics(options.metrics)
  // Celery's client dispatcher: an anonymous node name (gen<pid>@host), the `task` group only.
  const sentEvents =
    options.worker.sendSentEvent && bus
      ? createEventDispatcher(bus, { hostname: `gen${process.pid}@${hostname()}`, log, groups: ['task'] })
      : undefined
  const producer = createProducer({
    onSent:
      sentEvents &&
      ((opts, taskId, queue) => void sentEvents.send('task-sent', sentFields(opts, taskId, queue))),
    broker,
    metrics: taskMetrics,
    defaultQueue: options.queues.defaultQueue,
    queueFor: (name) => {
      const task = registry.get(name)
      return task ? (task.options.queue ?? options.queues.ownQueue) : undefined
    },
  })
  // wait() subscribes on a connection of its own (a subscribed connection can run nothing else) and closes it.
  // On Redis Cluster a PUBLISH reaches every node, so one connection to any node will do: duplicating the whole
  // Cluster client would open a connection to every node (and load the slot map) for each wait.
  const subscriber = (): RedisClient => {
    if (!(redis instanceof Cluster)) return redis.duplicate()
    const nodes = redis.nodes('master')
    const node = nodes[Math.floor(Math.random() * nodes.length)]
    return node ? node.duplicate() : redis.duplicate()
  }
  const results = createResultBackend(redis, subscriber)
  // Without RabbitMQ the events bus runs on Redis pub/sub.
  const events = amqp ? createEventBus(amqp, log) : createRedisEventBus(redis, subscriber, log)
  const beat = createBeat({
    redis,
    producer,
    log,
    prefix: options.prefix,
    lockTtlMs: options.beat?.lockTtlMs,
  })
  const worker = createWorker({
    bus,
    broker,
    redis,
    prefix: options.prefix,
    registry,
    results,
    producer,
    metrics: taskMetrics,
    log,
    ...options.worker,
  })

  const chords = createChordStore(redis, results.states)
  return {
    registry,
    producer,
    /** Sends a chain / group / chord built with canvas/build.ts (Python workers run its messages too). */
    sendCanvas: (canvas: Canvas) => sendCanvas({ send: (o) => producer.sendEncoded(o), chords }, canvas),
    chords,
    results,
    events,
    beat,
    worker,
    declarer,
    broker,
    bus,
    async close() {
      await worker.stop()
      await beat.stop()
      await events.stop()
      await producer.close()
      await sentEvents?.close()
      await bus?.close()
    },
  }
}

export type TaskSystem = ReturnType<typeof createTaskSystem>
