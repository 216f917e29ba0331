import { ConfigError, type Env, flag, integer, text } from '../config.ts'

/** Where tasks go (TASK_* / queue names), as Celery's task_* settings. */
export interface TasksConfig {
  /** Where tasks with no queue of their own go, like Celery's task_default_queue (interop: `celery`). */
  defaultQueue: string
  /** Queue of hotspot's own tasks (SMS delivery, orders, refreshes), so Python workers never see them. */
  ownQueue: string
  /**
   * Celery's task_queue_max_priority (TASK_QUEUE_MAX_PRIORITY, 1–255; 0 = none): every classic task queue is
   * declared with `x-max-priority` = this, as Celery declares them, so both sides declare alike.
   */
  maxPriority: number
}

/** The worker's settings (WORKER_*). */
export interface WorkerConfig {
  /** Queues the worker consumes (default: the two above). */
  queues: string[]
  /** Handlers running at once, per queue. */
  concurrency: number
  /** Messages the broker may push ahead of the handlers, per queue. */
  prefetch: number
  /** A task message failing this many times for a reason other than an outage is dead-lettered. */
  maxDeliveries: number
  /** Celery node name (`name@host`) the worker answers remote control as; default `hotspot-<pid>@<host>`. */
  name: string | undefined
  /** Celery's -E: task events on `celeryev` (worker heartbeats are always sent, as Celery does). */
  sendEvents: boolean
  /** Celery's task_send_sent_event: the producer sends `task-sent`. */
  sendSentEvent: boolean
}

export function loadTasksConfig(env: Env): { tasks: TasksConfig; worker: WorkerConfig } {
  const [defaultQueue = 'celery'] = queueList(env, 'CELERY_DEFAULT_QUEUE', ['celery'])
  const [ownQueue = 'hotspot'] = queueList(env, 'HOTSPOT_TASK_QUEUE', ['hotspot'])
  return {
    tasks: { defaultQueue, ownQueue, maxPriority: integer(env, 'TASK_QUEUE_MAX_PRIORITY', 0, 0, 255) },
    worker: {
      queues: queueList(env, 'WORKER_QUEUES', [defaultQueue, ownQueue]),
      concurrency: integer(env, 'WORKER_CONCURRENCY', 16, 1, 10_000),
      prefetch: integer(env, 'WORKER_PREFETCH', 32, 1, 65_535),
      maxDeliveries: integer(env, 'WORKER_MAX_DELIVERIES', 5, 1, 1000),
      name: workerName(env),
      sendEvents: flag(env, 'WORKER_SEND_EVENTS', false),
      sendSentEvent: flag(env, 'TASK_SEND_SENT_EVENT', false),
    },
  }
}

function workerName(env: Env): string | undefined {
  const raw = text(env, 'WORKER_NAME')
  if (raw !== undefined && !/^[A-Za-z0-9_.@-]{1,200}$/.test(raw))
    throw new ConfigError('WORKER_NAME', `"${raw}" is not a valid node name (like name@host)`)
  return raw
}

function queueList(env: Env, name: string, fallback: string[]): string[] {
  const raw = text(env, name)
  if (raw === undefined) return fallback
  const queues = raw.split(',').map((q) => q.trim())
  for (const queue of queues) {
    if (!/^[A-Za-z0-9_.:-]{1,200}$/.test(queue))
      throw new ConfigError(name, `"${queue}" is not a valid queue name`)
  }
  return queues
}
