import { Type } from 'typebox'
import { AppError } from '../errors.ts'
import { makeBearerCheck } from './auth.ts'
import type { Http } from './http.ts'
import type { Metrics } from './metrics.ts'

export type Check = () => Promise<boolean>

/** Liveness, readiness (real checks of every backing server) and Prometheus metrics. */
export function opsRoutes(
  app: Http,
  deps: { checks: Record<string, Check>; metrics: Metrics; metricsToken?: string | undefined },
) {
  const metricsAllowed = deps.metricsToken ? makeBearerCheck(deps.metricsToken) : () => true
  app.get('/healthz', { schema: { tags: ['ops'] } }, async () => ({ status: 'ok' }))

  app.get(
    '/readyz',
    {
      schema: {
        tags: ['ops'],
        response: {
          200: Type.Object({ status: Type.String(), checks: Type.Record(Type.String(), Type.String()) }),
          503: Type.Object({ status: Type.String(), checks: Type.Record(Type.String(), Type.String()) }),
        },
      },
    },
    async (_request, reply) => {
      const names = Object.keys(deps.checks)
      const results = await Promise.all(
        names.map((name) =>
          Promise.race([
            (deps.checks[name] as Check)().catch(() => false),
            new Promise<boolean>((r) => setTimeout(() => r(false), 2000).unref()),
          ]),
        ),
      )
      const checks = Object.fromEntries(names.map((name, i) => [name, results[i] ? 'ok' : 'failing']))
      const ready = results.every(Boolean)
      return reply.status(ready ? 200 : 503).send({ status: ready ? 'ready' : 'unavailable', checks })
    },
  )

  app.get('/metrics', { schema: { tags: ['ops'] } }, async (request, reply) => {
    if (!metricsAllowed(request.headers.authorization))
      throw new AppError('unauthorized', 'GET /metrics needs Authorization: Bearer <METRICS_TOKEN>')
    reply.header('content-type', deps.metrics.registry.contentType)
    return deps.metrics.registry.metrics()
  })
}
