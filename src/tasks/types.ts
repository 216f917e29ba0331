/**
 * What features see of the task system. SMS delivery, seckill orders and cache refresh register handlers and
 * send tasks through these interfaces only; the Celery wire format stays inside src/tasks.
 */
import type { Logger } from '../infra/logger.ts'

export type TaskStatus = 'PENDING' | 'STARTED' | 'RETRY' | 'SUCCESS' | 'FAILURE' | 'REVOKED'

export interface SendOptions {
  /** Queue (= routing key on the default exchange, as Celery does). Default: the task's own queue, else `celery`. */
  queue?: string
  /** Seconds to wait before running; waits in the broker's delay queues, never in a worker's memory. */
  countdown?: number
  eta?: Date
  /** After this the task is not run (state REVOKED). A Date, or seconds from now. */
  expires?: Date | number
  taskId?: string
  /**
   * AMQP message priority, 0–255, higher first (Celery's `priority`): honoured by queues declared with
   * x-max-priority (TASK_QUEUE_MAX_PRIORITY), capped by the broker at that maximum. Default 0.
   */
  priority?: number
  /** Seconds; sent in the `timelimit` header, which the worker (hotspot or Python) enforces over the task's own. */
  timeLimit?: number
  softTimeLimit?: number
}

export interface TaskProducer {
  /** Publishes (persistent, confirmed) and resolves with the task id once the broker has it. */
  send(
    name: string,
    args?: unknown[],
    kwargs?: Record<string, unknown>,
    options?: SendOptions,
  ): Promise<string>
}

export interface TaskState {
  taskId: string
  status: TaskStatus
  result?: unknown
  error?: { type: string; message: string }
}

export interface TaskResults {
  get(taskId: string): Promise<TaskState>
  /** Resolves when the task reaches SUCCESS, FAILURE or REVOKED, or with its last state after `timeoutMs`. */
  wait(taskId: string, timeoutMs: number): Promise<TaskState>
}

export interface TaskContext {
  taskId: string
  name: string
  /** How many times this task was retried before this run (0 on the first run). */
  retries: number
  /** True when the broker redelivered the message (a worker died or lost its connection mid-task). */
  redelivered: boolean
  log: Logger
  /**
   * Aborted when the task is revoked with `terminate` (Celery's `revoke(id, terminate=True)`), or when it
   * reaches its soft time limit (reason: a SoftTimeLimitExceeded, which the handler may catch to clean up and
   * still return) or its hard one (reason: a TimeLimitExceeded; the task has already failed): stop early.
   */
  signal: AbortSignal
  /**
   * Runs `effect` at most once per task id and `key`, even if the message is delivered again: the result is
   * remembered in Redis and returned on a later run. Use it for effects outside one SQL transaction.
   */
  once<T>(key: string, effect: () => Promise<T>): Promise<T>
}

export type TaskHandler = (args: unknown[], kwargs: Record<string, unknown>, context: TaskContext) => unknown

export interface TaskOptions {
  /**
   * Celery's rate_limit: `"10/s"`, `"100/m"`, `"2/h"` or tasks per second; each worker starts at most that many
   * of this task per unit (one every 1/rate). Changeable at run time with Celery's `rate_limit` control command.
   */
  rateLimit?: string | number
  /** Retries after the first attempt before the task fails for good (default 3; 0 = never retry). */
  maxRetries?: number
  /** Backoff: delay before retry n is min(maxDelay, baseDelay * 2^n), with jitter. Seconds. Default 1. */
  retryBaseDelay?: number
  /** Seconds, default 300. */
  retryMaxDelay?: number
  /** Randomise each delay between 50 % and 100 % of its value (default true), so retries do not stampede. */
  retryJitter?: boolean
  /** Default queue when sending this task. */
  queue?: string
  /**
   * Celery's time_limit (seconds): past it the task fails with TimeLimitExceeded and its slot is freed, whether
   * or not the handler stops. A message's `timelimit` header overrides it. Read at each run, so it can change.
   */
  timeLimit?: number
  /** Celery's soft_time_limit (seconds): past it `context.signal` aborts with a SoftTimeLimitExceeded. */
  softTimeLimit?: number
}

/** Thrown by a handler: the task fails at once, without retries (bad input that will never succeed). */
export class PermanentTaskError extends Error {
  override name = 'PermanentTaskError'
}

/** Thrown by a handler to ask for a retry after `countdown` seconds, counted against maxRetries. */
export class RetryTask extends Error {
  override name = 'RetryTask'
  constructor(
    message: string,
    readonly countdown?: number,
  ) {
    super(message)
  }
}

/** A time limit reached; never retried (it would be reached again), stored as billiard's exception. */
export class TimeLimitError extends PermanentTaskError {
  constructor(
    message: string,
    /** The exception's args as Python stores them (exc_message). */
    readonly pythonArgs: unknown[],
  ) {
    super(message)
  }
}

/** The soft time limit: `context.signal.reason`, thrown by `signal.throwIfAborted()`; a handler may catch it. */
export class SoftTimeLimitExceeded extends TimeLimitError {
  override name = 'SoftTimeLimitExceeded'
  constructor(readonly seconds: number) {
    super(`soft time limit (${seconds} s) exceeded`, [])
  }
}

/** The hard time limit: the task failed with it, whatever its handler still does. */
export class TimeLimitExceeded extends TimeLimitError {
  override name = 'TimeLimitExceeded'
  constructor(readonly seconds: number) {
    super(`hard time limit (${seconds} s) exceeded`, [seconds])
  }
}

export interface TaskRegistry {
  register(name: string, handler: TaskHandler, options?: TaskOptions): void
}

/** Something every process hears (cache invalidation, live counts): a fanout exchange `hotspot.events`. */
export interface EventBus {
  publish(topic: string, payload: unknown): Promise<void>
  /** Returns a function that removes the listener. */
  on(topic: string, listener: (payload: unknown) => void): () => void
}

export interface ScheduleEntry {
  /** Unique name; the leader lock and "last fired" records use it. */
  name: string
  /** Cron expression (seconds field optional, UTC) or a fixed interval in seconds. */
  cron?: string
  everySeconds?: number
  task: string
  args?: unknown[]
  kwargs?: Record<string, unknown>
  queue?: string
}

export interface Schedule {
  add(entry: ScheduleEntry): void
}
