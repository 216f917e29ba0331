import type { Counter } from 'prom-client'
import { Type } from 'typebox'
import { AppError } from '../errors.ts'
import type { AdminCheck } from '../infra/auth.ts'
import type { Http } from '../infra/http.ts'
import type { Metrics } from '../infra/metrics.ts'
import type { Broker } from './broker/types.ts'
import type { Producer } from './producer.ts'
import { DEAD_LETTER_QUEUE } from './topology.ts'

const admin = { tags: ['tasks'], security: [{ admin: [] }] }

/** Counters of this process (task metrics), summed per task name: the admin page turns them into rates. */
const TASK_COUNTERS = {
  sent: 'hotspot_tasks_sent_total',
  received: 'hotspot_tasks_received_total',
  succeeded: 'hotspot_tasks_succeeded_total',
  failed: 'hotspot_tasks_failed_total',
  retried: 'hotspot_tasks_retried_total',
} as const
type TaskCounterName = keyof typeof TASK_COUNTERS

const Nullable = (schema: ReturnType<typeof Type.String>) => Type.Union([schema, Type.Null()])
const QueueDepth = Type.Object({
  name: Type.String(),
  /** null when the queue does not exist (yet): nothing was ever sent to it. */
  messages: Type.Union([Type.Integer(), Type.Null()]),
  consumers: Type.Union([Type.Integer(), Type.Null()]),
})
const DeadLetterSchema = Type.Object({
  taskId: Nullable(Type.String()),
  task: Nullable(Type.String()),
  reason: Nullable(Type.String()),
  error: Nullable(Type.String()),
  queue: Nullable(Type.String()),
  deadAt: Nullable(Type.String()),
})

/**
 * Admin views of the task system for the web UI: queue depths, this process's task counters, and the
 * dead-letter queue with replay (the same code as `hotspot tasks dlq|replay`).
 */
export function taskAdminRoutes(
  app: Http,
  deps: { broker: Broker; producer: Producer; metrics: Metrics; admin: AdminCheck; queues: string[] },
) {
  const { broker, producer, metrics } = deps
  const onRequest = deps.admin.requireAdmin

  const depth = async (name: string) => ({ name, ...(await broker.depth(name)) })

  async function taskCounters() {
    const byTask = new Map<string, Record<TaskCounterName, number>>()
    for (const [field, metric] of Object.entries(TASK_COUNTERS) as [TaskCounterName, string][]) {
      const counter = metrics.registry.getSingleMetric(metric) as Counter | undefined
      for (const { labels, value } of (await counter?.get())?.values ?? []) {
        const task = String(labels.task ?? '?')
        let row = byTask.get(task)
        if (!row) {
          row = { sent: 0, received: 0, succeeded: 0, failed: 0, retried: 0 }
          byTask.set(task, row)
        }
        row[field] += value
      }
    }
    return [...byTask]
      .map(([task, counts]) => ({ task, ...counts }))
      .sort((a, b) => (a.task < b.task ? -1 : 1))
  }

  app.get(
    '/api/admin/queues',
    {
      onRequest,
      schema: {
        ...admin,
        description:
          'Depth and consumers of each task queue and the dead-letter queue, messages waiting in the delay ' +
          'levels (countdowns, retries), and task counters of this process (poll twice for rates).',
        response: {
          200: Type.Object({
            queues: Type.Array(QueueDepth),
            deadLetters: QueueDepth,
            delayed: Type.Integer(),
            tasks: Type.Array(
              Type.Object({
                task: Type.String(),
                sent: Type.Number(),
                received: Type.Number(),
                succeeded: Type.Number(),
                failed: Type.Number(),
                retried: Type.Number(),
              }),
            ),
            at: Type.String(),
          }),
        },
      },
    },
    async () => {
      const names = [...new Set(deps.queues)]
      const [queues, deadLetters, delayed, tasks] = await Promise.all([
        Promise.all(names.map(depth)),
        depth(DEAD_LETTER_QUEUE),
        broker.delayedCount(),
        taskCounters(),
      ])
      return { queues, deadLetters, delayed, tasks, at: new Date().toISOString() }
    },
  )

  app.get(
    '/api/admin/dead-letters',
    {
      onRequest,
      schema: {
        ...admin,
        querystring: Type.Object({ limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }) }),
        response: { 200: Type.Object({ deadLetters: Type.Array(DeadLetterSchema) }) },
      },
    },
    async (request) => ({ deadLetters: await broker.listDeadLetters(request.query.limit) }),
  )

  app.post(
    '/api/admin/dead-letters/replay',
    {
      onRequest,
      schema: {
        ...admin,
        description:
          'Sends dead letters back to their queue with their retry count reset: the ones named, or all.',
        body: Type.Object(
          {
            taskIds: Type.Optional(
              Type.Array(Type.String({ minLength: 1, maxLength: 200 }), { minItems: 1, maxItems: 1000 }),
            ),
            all: Type.Optional(Type.Boolean()),
          },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ replayed: Type.Array(Type.String()) }) },
      },
    },
    async (request) => {
      const { taskIds, all } = request.body
      if (all !== true && !taskIds) {
        throw new AppError('validation_failed', 'body.taskIds is required unless body.all is true', {
          details: { field: 'body.taskIds' },
        })
      }
      const wanted = new Set(taskIds)
      const replayed = await broker.replayDeadLetters(
        producer,
        (info) => all === true || (info.taskId !== null && wanted.has(info.taskId)),
      )
      return { replayed }
    },
  )
}
