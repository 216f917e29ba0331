import { randomUUID } from 'node:crypto'
import { Type } from 'typebox'
import type { AdminCheck } from '../infra/auth.ts'
import type { Http } from '../infra/http.ts'
import type { CountersService } from './service.ts'

const ItemId = Type.Object({ id: Type.Integer({ minimum: 1, maximum: 9_007_199_254_740_991 }) })
const Kind = Type.Union([Type.Literal('article'), Type.Literal('video')])
const Item = Type.Object({
  id: Type.Integer(),
  kind: Kind,
  title: Type.String(),
  body: Type.String(),
  views: Type.Integer(),
  uniqueVisitors: Type.Integer(),
  createdAt: Type.String(),
})
const VISITOR_COOKIE = 'hs_vid'

/** Items, views and rankings over HTTP: parse, call the service, answer. */
export function countersRoutes(app: Http, deps: { counters: CountersService; admin: AdminCheck }) {
  const { counters, admin } = deps

  app.post(
    '/api/items',
    {
      onRequest: admin.requireAdmin,
      schema: {
        tags: ['items'],
        security: [{ admin: [] }],
        body: Type.Object(
          {
            kind: Kind,
            title: Type.String({ minLength: 1, maxLength: 300 }),
            body: Type.Optional(Type.String({ maxLength: 32_000 })),
          },
          { additionalProperties: false },
        ),
        response: { 201: Item },
      },
    },
    async (request, reply) => reply.status(201).send(await counters.createItem(request.body)),
  )

  app.get(
    '/api/items',
    {
      schema: {
        tags: ['items'],
        querystring: Type.Object({
          kind: Type.Optional(Kind),
          limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
          cursor: Type.Optional(Type.String({ pattern: '^[0-9]{1,15}$' })),
        }),
      },
    },
    async (request) =>
      counters.listItems({
        kind: request.query.kind,
        limit: request.query.limit,
        cursor: request.query.cursor === undefined ? undefined : Number(request.query.cursor),
      }),
  )

  app.get(
    '/api/items/:id',
    { schema: { tags: ['items'], params: ItemId, response: { 200: Item } } },
    async (request) => counters.getItem(request.params.id),
  )

  app.delete(
    '/api/items/:id',
    { onRequest: admin.requireAdmin, schema: { tags: ['items'], security: [{ admin: [] }], params: ItemId } },
    async (request, reply) => {
      await counters.deleteItem(request.params.id)
      return reply.status(204).send()
    },
  )

  app.post(
    '/api/items/:id/views',
    {
      // The body is optional: a bare POST (no body at all) counts a view like `{}` does.
      preValidation: async (request) => {
        request.body ??= {}
      },
      schema: {
        tags: ['items'],
        params: ItemId,
        body: Type.Object(
          { visitorId: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })) },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            id: Type.Integer(),
            views: Type.Integer(),
            uniqueVisitors: Type.Integer(),
            counted: Type.Boolean(),
          }),
        },
      },
    },
    async (request, reply) => {
      // Visitor identity: explicit id, else our cookie; a first visit gets a new cookie and is counted under it
      // (counting it under the address would make every new visitor two unique visitors).
      let visitor = request.body.visitorId ?? request.cookies[VISITOR_COOKIE]
      if (!visitor) {
        visitor = randomUUID()
        reply.setCookie(VISITOR_COOKIE, visitor, {
          path: '/',
          httpOnly: true,
          sameSite: 'lax',
          maxAge: 365 * 86_400,
        })
      }
      const result = await counters.recordView(request.params.id, visitor)
      return { id: request.params.id, ...result }
    },
  )

  app.get(
    '/api/rankings/views',
    {
      schema: {
        tags: ['items'],
        querystring: Type.Object({
          period: Type.Union([Type.Literal('day'), Type.Literal('week'), Type.Literal('all')], {
            default: 'day',
          }),
          limit: Type.Integer({ minimum: 1, maximum: 100, default: 10 }),
        }),
      },
    },
    async (request) => ({
      period: request.query.period,
      items: await counters.rankings(request.query.period, request.query.limit),
    }),
  )
}
