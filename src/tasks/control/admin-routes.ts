import { Type } from 'typebox'
import type { AdminCheck } from '../../infra/auth.ts'
import type { Http } from '../../infra/http.ts'
import type { Logger } from '../../infra/logger.ts'
import type { RedisClient } from '../../infra/redis.ts'
import type { CeleryBus } from '../broker/celery-bus.ts'
import { createWorkerWatch } from '../celeryev/workers.ts'
import { broadcast } from './client.ts'
import { createRevokedStore } from './revoked.ts'

const admin = { tags: ['tasks'], security: [{ admin: [] }] }
const TASK_ID = Type.String({ minLength: 1, maxLength: 200, pattern: '^[A-Za-z0-9_.:-]+$' })

/** The admin page's worker list (from heartbeats) and revoke button. */
export function controlAdminRoutes(
  app: Http,
  deps: { bus: CeleryBus; redis: RedisClient; prefix: string; admin: AdminCheck; log: Logger },
) {
  const onRequest = deps.admin.requireAdmin
  const watch = createWorkerWatch(deps.bus, deps.log)
  const revoked = createRevokedStore(deps.redis, deps.prefix)
  app.addHook('onClose', () => watch.stop())

  app.get(
    '/api/admin/workers',
    {
      onRequest,
      schema: {
        ...admin,
        description:
          'Every Celery worker on the broker, Python or hotspot, from its heartbeats (alive: one within the ' +
          'last two heartbeat periods). Listening starts with the first call: poll it.',
        response: {
          200: Type.Object({
            workers: Type.Array(
              Type.Object({
                hostname: Type.String(),
                alive: Type.Boolean(),
                active: Type.Number(),
                processed: Type.Number(),
                loadavg: Type.Array(Type.Number()),
                freq: Type.Number(),
                software: Type.String(),
                lastHeartbeat: Type.String(),
              }),
            ),
          }),
        },
      },
    },
    async () => {
      watch.start()
      return { workers: watch.list() }
    },
  )

  app.post(
    '/api/admin/tasks/:id/revoke',
    {
      onRequest,
      schema: {
        ...admin,
        description:
          "Celery's revoke: every worker (Python or hotspot) is told, and hotspot workers that receive the task " +
          'later record it REVOKED without running it. terminate: a running task is stopped too.',
        params: Type.Object({ id: TASK_ID }),
        body: Type.Optional(
          Type.Object({ terminate: Type.Optional(Type.Boolean()) }, { additionalProperties: false }),
        ),
        response: {
          200: Type.Object({ taskId: Type.String(), replies: Type.Record(Type.String(), Type.Unknown()) }),
        },
      },
    },
    async (request) => {
      const taskId = request.params.id
      // Kept in Redis first: a hotspot worker that is down or busy now still refuses the task later.
      await revoked.add([taskId])
      const replies = await broadcast(deps.bus, {
        method: 'revoke',
        arguments: { task_id: taskId, terminate: request.body?.terminate === true, signal: 'SIGTERM' },
        timeoutMs: 1000,
      })
      return { taskId, replies: Object.assign({}, ...replies) }
    },
  )
}
