import { Type } from 'typebox'
import type { AdminCheck } from '../infra/auth.ts'
import type { Http } from '../infra/http.ts'
import type { TaskProducer, TaskResults } from './types.ts'

const TaskState = Type.Object({
  taskId: Type.String(),
  status: Type.String(),
  result: Type.Optional(Type.Unknown()),
  error: Type.Optional(Type.Object({ type: Type.String(), message: Type.String() })),
})

/** POST /api/tasks (like Celery's send_task) and GET /api/tasks/:id. */
export function taskRoutes(
  app: Http,
  deps: { producer: TaskProducer; results: TaskResults; admin: AdminCheck },
) {
  app.post(
    '/api/tasks',
    {
      onRequest: deps.admin.requireAdmin,
      schema: {
        tags: ['tasks'],
        security: [{ admin: [] }],
        body: Type.Object(
          {
            name: Type.String({ minLength: 1, maxLength: 200, pattern: '^[A-Za-z0-9_.:-]+$' }),
            args: Type.Optional(Type.Array(Type.Unknown(), { maxItems: 1000 })),
            kwargs: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
            queue: Type.Optional(
              Type.String({ minLength: 1, maxLength: 200, pattern: '^[A-Za-z0-9_.:-]+$' }),
            ),
            countdown: Type.Optional(Type.Number({ minimum: 0, maximum: 268_435_455 })),
            expires: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 268_435_455 })),
          },
          { additionalProperties: false },
        ),
        response: { 202: Type.Object({ taskId: Type.String() }) },
      },
    },
    async (request, reply) => {
      const { name, args, kwargs, queue, countdown, expires } = request.body
      const taskId = await deps.producer.send(name, args, kwargs, { queue, countdown, expires })
      return reply.status(202).send({ taskId })
    },
  )

  app.get(
    '/api/tasks/:id',
    {
      schema: {
        tags: ['tasks'],
        params: Type.Object({
          id: Type.String({ minLength: 1, maxLength: 200, pattern: '^[A-Za-z0-9_.:-]+$' }),
        }),
        response: { 200: TaskState },
      },
    },
    async (request) => deps.results.get(request.params.id),
  )
}
