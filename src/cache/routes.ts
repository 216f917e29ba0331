import { Type } from 'typebox'
import type { AdminCheck } from '../infra/auth.ts'
import type { Http } from '../infra/http.ts'
import { TAG_PATTERN, type TagInvalidator } from './tags.ts'

export interface CacheRoutesDeps {
  tags: TagInvalidator
  admin: AdminCheck
}

/** The cache's admin route, as an encapsulated Fastify plugin (`http.register(cacheRoutes, deps)`). */
export async function cacheRoutes(app: Http, deps: CacheRoutesDeps) {
  app.post(
    '/api/cache/invalidate',
    {
      onRequest: deps.admin.requireAdmin,
      schema: {
        tags: ['cache'],
        security: [{ admin: [] }],
        description:
          'Voids every cached entry carrying one of these tags, in every cache of every process: once this ' +
          'answers, no read serves one (each read checks its tags).',
        body: Type.Object(
          {
            tags: Type.Array(Type.String({ pattern: TAG_PATTERN }), { minItems: 1, maxItems: 100 }),
          },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ invalidated: Type.Array(Type.String()) }) },
      },
    },
    async (request) => {
      const tags = [...new Set(request.body.tags)]
      await deps.tags.invalidate(tags)
      return { invalidated: tags }
    },
  )
}
