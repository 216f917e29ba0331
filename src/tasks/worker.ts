import { ConsumerStatus } from 'rabbitmq-client'
import type { Logger } from '../infra/logger.ts'
import type { RedisClient } from '../infra/redis.ts'
import { isUnavailableError } from '../infra/unavailable.ts'
import type { CeleryBus } from './broker/celery-bus.ts'
import type { Broker, BrokerConsumer, BrokerMessage } from './broker/types.ts'
import { createChordStore } from './canvas/chord.ts'
import {
  type FollowDeps,
  followFailure,
  followRevoked,
  followSuccess,
  hasFollowers,
} from './canvas/follow.ts'
import { createEventDispatcher, type EventFields, startHeart } from './celeryev/dispatcher.ts'
import { failureFields, receivedFields, revokedFields, succeededFields } from './celeryev/task-events.ts'
import { type ActiveTask, createMailbox, LamportClock, nodeName } from './control/mailbox.ts'
import { createRevokedStore } from './control/revoked.ts'
import { type DecodedTask, decodeTask } from './message.ts'
import type { TaskMetrics } from './metrics.ts'
import { createOnce } from './once.ts'
import { type Producer, rawMessage } from './producer.ts'
import { createRateLimiter } from './rate-limit.ts'
import { type RegisteredTask, type Registry, retryDelaySeconds } from './registry.ts'
import { celeryException } from './result-meta.ts'
import type { createResultBackend } from './results.ts'
import { RunContext } from './run-context.ts'
import { LazyAbort, runWithTimeLimits, timeLimitsOf } from './time-limits.ts'
import { DEAD_LETTER_QUEUE } from './topology.ts'
import { PermanentTaskError, RetryTask, TimeLimitError } from './types.ts'
import { createUnfinishedRuns } from './unfinished-runs.ts'

type Results = ReturnType<typeof createResultBackend>

export interface WorkerOptions {
  /** Remote control (pidbox) and Celery events, on the task broker (RabbitMQ, or kombu's Redis fanout). */
  bus?: CeleryBus
  /** Where task messages come from: RabbitMQ or Redis (kombu's transport). */
  broker: Broker
  redis: RedisClient
  prefix: string
  registry: Registry
  results: Results
  producer: Producer
  metrics: TaskMetrics
  log: Logger
  queues: string[]
  /** Handlers running at once, per queue. */
  concurrency: number
  /** Unacked messages the broker may push ahead, per queue. */
  prefetch: number
  /** A message whose handling fails this many times for a reason other than an outage is dead-lettered. */
  maxDeliveries?: number
  /** Celery node name for remote control (WORKER_NAME). */
  name?: string
  /** Celery's -E (WORKER_SEND_EVENTS): task events on `celeryev`; worker heartbeats are sent regardless. */
  sendEvents?: boolean
}
/** Python re-raises builtins by name; anything else becomes a synthesized exception class on the Python side. */
const PYTHON_BUILTINS = new Set(['TypeError', 'ValueError', 'RuntimeError', 'KeyError', 'LookupError'])

function exceptionOf(error: unknown) {
  const e = error instanceof Error ? error : new Error(String(error))
  if (e instanceof TimeLimitError) {
    // billiard's classes, which Celery raises for its own time limits (celery.exceptions re-exports them).
    return {
      result: celeryException(e.name, e.pythonArgs, 'billiard.exceptions'),
      traceback: e.stack ?? e.name,
    }
  }
  const type = e.name === 'Error' ? 'Exception' : e.name
  return {
    result: celeryException(
      type,
      [e.message],
      PYTHON_BUILTINS.has(type) || type === 'Exception' ? 'builtins' : 'hotspot.errors',
    ),
    traceback: e.stack ?? `${type}: ${e.message}`,
  }
}

/** What Celery's _get_result_meta takes from the request: group_id and parent_id, written only when set. */
function requestMeta(task: DecodedTask) {
  return { taskId: task.id, groupId: task.groupId, parentId: task.parentId }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/**
 * Consumes task queues and runs registered handlers. Acks late: a message is acknowledged only after its
 * outcome is stored (result in Redis, retry or dead letter confirmed by the broker), so a worker killed at any
 * point leaves the message to be delivered again; handlers are idempotent (context.once, SQL constraints).
 */
export function createWorker(options: WorkerOptions) {
  const { bus, broker, registry, results, producer, metrics, log } = options
  const consumers: BrokerConsumer[] = []
  const once = createOnce(options.redis, options.prefix)
  const maxDeliveries = options.maxDeliveries ?? 5
  const WORKER_NAME = nodeName(options.name)
  const revoked = createRevokedStore(options.redis, options.prefix)
  const unfinishedRuns = createUnfinishedRuns(options.redis, options.prefix)
  // sendEncoded is looked up per call: it is the producer's, and the producer stays replaceable.
  const follow: FollowDeps = {
    send: (opts) => producer.sendEncoded(opts),
    chords: createChordStore(options.redis, results.states),
    store: (input) => results.store(input),
  }
  const active = new Map<string, ActiveTask>()
  const processed = new Map<string, number>()
  const rateLimiter = createRateLimiter()
  const clock = new LamportClock()
  const eventer =
    bus &&
    createEventDispatcher(bus, {
      hostname: WORKER_NAME,
      log,
      clock,
      groups: options.sendEvents ? ['worker', 'task'] : ['worker'],
    })
  let heart: ReturnType<typeof startHeart> | undefined
  /** The fields are built only when task events are on: off (the default) costs one check per event. */
  const taskEvent = (type: string, fields: () => EventFields) => {
    if (eventer?.enabled('task')) void eventer.send(type, fields())
  }
  const mailbox =
    bus &&
    createMailbox(bus, {
      hostname: WORKER_NAME,
      active,
      processed,
      registered: () => registry.names(),
      startedAt: Date.now(),
      concurrency: options.concurrency,
      prefetch: options.prefetch,
      revoked,
      log,
      onShutdown: () => void stopConsumers(),
      taskOptions: (name) => registry.get(name)?.options,
      clock,
      onEvents: (enabled) => eventer?.toggle('task', enabled) ?? false,
      onHeartbeat: () => void heart?.beatNow(),
    })
  const stopConsumers = () => Promise.all(consumers.splice(0).map((c) => c.close()))

  async function deadLetter(msg: BrokerMessage, queue: string, reason: string, detail: string) {
    const message = rawMessage(msg, {
      ...msg.headers,
      'x-hotspot-reason': reason,
      'x-hotspot-error': detail.slice(0, 1000),
      'x-hotspot-queue': queue,
      'x-hotspot-dead-at': new Date().toISOString(),
    })
    await producer.publish(DEAD_LETTER_QUEUE, message, 0, { declare: false })
    metrics.deadLettered.inc({ reason })
  }

  async function retryOrFail(
    msg: BrokerMessage,
    queue: string,
    task: DecodedTask,
    def: RegisteredTask,
    error: unknown,
  ) {
    const { result, traceback } = exceptionOf(error)
    const permanent = error instanceof PermanentTaskError
    if (!permanent && task.retries < def.options.maxRetries) {
      const countdown =
        error instanceof RetryTask && error.countdown !== undefined
          ? error.countdown
          : retryDelaySeconds(def.options, task.retries)
      await results.store({ taskId: task.id, status: 'RETRY', result, traceback, parentId: task.id })
      taskEvent('task-retried', () => failureFields(task.id, result, traceback))
      await producer.sendEncoded({
        name: task.name,
        args: task.args,
        kwargs: task.kwargs,
        taskId: task.id,
        retries: task.retries + 1,
        eta: new Date(Date.now() + countdown * 1000),
        expires: task.expires,
        rootId: task.rootId,
        parentId: task.id, // what Celery writes on a retry
        groupId: task.groupId,
        priority: task.priority ?? undefined,
        queue,
        embed: task.embed,
      })
      metrics.retried.inc({ task: task.name })
      log.info(
        { task: task.name, taskId: task.id, retries: task.retries + 1, countdown },
        'task will be retried',
      )
      return
    }
    // Celery's order (state, then links): a FAILURE is no SUCCESS, so a redelivery after a crash in between
    // runs the task again and sends the errbacks then (with the same derived ids).
    await results.store({ ...requestMeta(task), status: 'FAILURE', result, traceback })
    taskEvent('task-failed', () => failureFields(task.id, result, traceback))
    await followFailure(follow, task, result, 'FAILURE', traceback)
    await deadLetter(
      msg,
      queue,
      error instanceof TimeLimitError ? 'time_limit' : permanent ? 'permanent_error' : 'retries_exhausted',
      result.exc_message.join(' '),
    )
    metrics.failed.inc({ task: task.name })
    log.warn({ task: task.name, taskId: task.id, error: result.exc_type }, 'task failed')
  }

  /**
   * Not an outage, so the message itself fails: a RangeError is one the broker can never take (an eta beyond the
   * delay levels, a queue name too long for a delayed routing key): at once. Anything else after maxDeliveries
   * deliveries, counted by quorum queues (x-delivery-count) or in Redis. Never an endless redelivery loop.
   */
  async function isPoison(msg: BrokerMessage, error: unknown): Promise<boolean> {
    if (error instanceof RangeError) return true
    const counted = msg.headers?.['x-delivery-count']
    let deliveries: number
    if (typeof counted === 'number') deliveries = counted + 1
    else {
      const id = String(msg.headers?.id ?? msg.correlationId ?? msg.messageId ?? '')
      if (!id) return false
      const key = `${options.prefix}:deliveries:{${id}}`
      deliveries = await options.redis.incr(key)
      await options.redis.expire(key, 3600)
    }
    return deliveries >= maxDeliveries
  }

  /** Celery's REVOKED record: TaskRevokedError with the reason (revoked, terminated). */
  async function revoke(task: DecodedTask, reason: 'revoked' | 'terminated' | 'expired') {
    const result = celeryException('TaskRevokedError', [reason], 'celery.exceptions')
    await results.store({ ...requestMeta(task), status: 'REVOKED', result })
    taskEvent('task-revoked', () => revokedFields(task.id, reason))
    await followRevoked(follow, task, result)
    metrics.revoked.inc({ task: task.name })
    log.info({ task: task.name, taskId: task.id, reason }, 'task revoked')
    return ConsumerStatus.ACK
  }

  /** A message whose runs keep dying with their worker: failed as Celery fails a task whose worker was lost. */
  async function workerLost(msg: BrokerMessage, queue: string, task: DecodedTask, runs: number) {
    const detail = `Worker exited prematurely: the task ran ${runs} times without finishing`
    const result = celeryException('WorkerLostError', [detail], 'billiard.exceptions')
    await results.store({ ...requestMeta(task), status: 'FAILURE', result, traceback: detail })
    taskEvent('task-failed', () => failureFields(task.id, result, detail))
    await followFailure(follow, task, result, 'FAILURE', detail)
    await deadLetter(msg, queue, 'delivery_limit', detail)
    metrics.failed.inc({ task: task.name })
    log.warn({ task: task.name, taskId: task.id, runs }, 'task keeps ending its worker, dead-lettered')
    return ConsumerStatus.ACK
  }

  async function handle(queue: string, msg: BrokerMessage): Promise<ConsumerStatus> {
    const decoded = decodeTask(msg.body, msg)
    if (!decoded.ok) {
      // Never log the body: it may carry personal data. The reason says what was wrong.
      log.warn(
        { queue, reason: decoded.reason, detail: decoded.message },
        'task message rejected, dead-lettered',
      )
      await deadLetter(msg, queue, decoded.reason, decoded.message)
      return ConsumerStatus.ACK
    }
    const task = decoded.task
    const def = registry.get(task.name)
    metrics.received.inc({ task: def ? task.name : 'unregistered' })
    if (!def) {
      const result = celeryException('NotRegistered', [task.name], 'celery.exceptions')
      await results.store({ ...requestMeta(task), status: 'FAILURE', result })
      taskEvent('task-failed', () => failureFields(task.id, result, ''))
      await followFailure(follow, task, result)
      await deadLetter(msg, queue, 'unknown_task', `no task named ${task.name}`)
      log.warn({ task: task.name, taskId: task.id }, 'unknown task, dead-lettered')
      return ConsumerStatus.ACK
    }
    const now = Date.now()
    if (task.expires && task.expires.getTime() <= now) return revoke(task, 'expired')
    if (task.eta && task.eta.getTime() - now > 500) {
      // An eta from a Celery client (which does not use delay queues): park it in the broker, not in memory.
      await producer.publish(queue, rawMessage(msg), task.eta.getTime() - now)
      return ConsumerStatus.ACK
    }
    // Celery's rate_limit: the task waits for its place in its type's bucket (holding its unacked message).
    const wait = rateLimiter.reserve(task.name, def.options.rateLimit)
    if (wait > 0) await sleep(wait)
    // One round trip decides (revoked? already succeeded?) and writes STARTED.
    const admission = await results.admit(
      { taskId: task.id, status: 'STARTED', result: { pid: process.pid, hostname: WORKER_NAME } },
      revoked.key(task.id),
    )
    if (admission === 'revoked') return revoke(task, 'revoked')
    // A redelivery of a task that already succeeded (the worker died between storing and acking) is done.
    if (admission === 'succeeded') return ConsumerStatus.ACK
    if (!unfinishedRuns.isRedelivery(msg)) return run(queue, msg, task, def)
    const runs = await unfinishedRuns.start(task.id, task.retries)
    if (runs >= maxDeliveries) return workerLost(msg, queue, task, runs)
    try {
      return await run(queue, msg, task, def)
    } finally {
      // Finished, whatever the outcome (a failure to record it requeues, it did not kill the worker).
      await unfinishedRuns.finish(task.id, task.retries).catch((error: unknown) => {
        log.warn({ err: error, taskId: task.id }, 'unfinished-run count not cleared')
      })
    }
  }

  /** Runs an admitted task (STARTED stored): the handler within its time limits, and the outcome. */
  async function run(
    queue: string,
    msg: BrokerMessage,
    task: DecodedTask,
    def: RegisteredTask,
  ): Promise<ConsumerStatus> {
    // Sent when the task is about to run, not when an eta parks it in the broker (it arrives again then). Sent
    // directly rather than through taskEvent: on the path every task takes, events off (the default) costs no closure.
    if (eventer?.enabled('task')) {
      void eventer.send('task-received', receivedFields(task))
      void eventer.send('task-started', { uuid: task.id })
    }
    const started = performance.now()
    const abort = new LazyAbort()
    active.set(task.id, {
      id: task.id,
      name: task.name,
      args: task.args,
      kwargs: task.kwargs,
      queue,
      timeStart: Date.now(),
      abort,
    })
    processed.set(task.name, (processed.get(task.name) ?? 0) + 1)
    // Aborted for a reason other than a time limit: revoked with terminate.
    const terminated = () => abort.aborted && !(abort.reason instanceof TimeLimitError)
    let value: unknown
    try {
      const context = new RunContext(task.id, task.name, task.retries, msg.redelivered, log, abort, once)
      value = await runWithTimeLimits(
        () => def.handler(task.args, task.kwargs, context),
        timeLimitsOf(task, def),
        abort,
      )
    } catch (error) {
      active.delete(task.id)
      if (terminated()) return revoke(task, 'terminated')
      metrics.duration.observe({ task: task.name }, (performance.now() - started) / 1000)
      await retryOrFail(msg, queue, task, def, error)
      return ConsumerStatus.ACK
    }
    active.delete(task.id)
    if (terminated()) return revoke(task, 'terminated')
    const runtime = (performance.now() - started) / 1000
    metrics.duration.observe({ task: task.name }, runtime)
    // The next chain step, callbacks and chord part before SUCCESS is stored (see canvas/follow.ts): a worker
    // that dies in between runs the task again on redelivery instead of losing the step. (Most tasks have none:
    // no call and no await for them, on the path every task takes.)
    if (hasFollowers(task)) await followSuccess(follow, task, value ?? null)
    if (!task.ignoreResult)
      await results.store({ ...requestMeta(task), status: 'SUCCESS', result: value ?? null })
    if (eventer?.enabled('task'))
      void eventer.send('task-succeeded', succeededFields(task.id, value ?? null, runtime))
    metrics.succeeded.inc({ task: task.name })
    return ConsumerStatus.ACK
  }

  return {
    async start() {
      for (const queue of options.queues) {
        await broker.ensureQueue(queue)
        const consumer = broker.consume(
          queue,
          { prefetch: options.prefetch, concurrency: options.concurrency },
          async (msg) => {
            try {
              return await handle(queue, msg)
            } catch (error) {
              if (!isUnavailableError(error) && (await isPoison(msg, error))) {
                await deadLetter(
                  msg,
                  queue,
                  'undeliverable',
                  error instanceof Error ? error.message : String(error),
                )
                log.warn({ err: error, queue }, 'message cannot be handled, dead-lettered')
                return ConsumerStatus.ACK
              }
              // Redis or the broker failed while recording the outcome: give the message back (it will be
              // delivered again), after a pause so an outage does not become a hot redelivery loop.
              log.warn({ err: error, queue }, 'could not record a task outcome, message requeued')
              await sleep(1000)
              return ConsumerStatus.REQUEUE
            }
          },
          (error) => log.warn({ err: error, queue }, 'task consumer error (it recovers by itself)'),
        )
        consumers.push(consumer)
      }
      await mailbox?.start()
      if (eventer)
        heart = startHeart(eventer, {
          active: () => active.size,
          processed: () => [...processed.values()].reduce((a, b) => a + b, 0),
        })
      log.info(
        { queues: options.queues, concurrency: options.concurrency, hostname: WORKER_NAME },
        'task worker consuming',
      )
    },
    /** Stops taking messages and waits for the running handlers to finish. */
    async stop() {
      await stopConsumers()
      await mailbox?.stop()
      await heart?.stop()
      heart = undefined
      await eventer?.close()
    },
    hostname: WORKER_NAME,
  }
}

export type Worker = ReturnType<typeof createWorker>
