import { randomUUID } from 'node:crypto'
import { Type } from 'typebox'
import { AppError } from '../errors.ts'
import type { AdminCheck } from '../infra/auth.ts'
import type { Http } from '../infra/http.ts'
import { dayIndex, type Period, parseDay } from './periods.ts'
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
const PeriodName = Type.Union(
  ['day', 'week', 'month', 'all', 'trending'].map((p) => Type.Literal(p as Period)),
  { default: 'day' },
)
const PeriodQuery = {
  period: PeriodName,
  /** A day of the (past) calendar period wanted. */
  date: Type.Optional(Type.String({ pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}$' })),
}

/** `date` names a day of a day, week or month period, up to today. */
function dayOf(period: Period, date: string | undefined): number | undefined {
  if (date === undefined) return undefined
  if (period === 'all' || period === 'trending')
    throw new AppError('validation_failed', `date applies to period day, week or month, not ${period}`)
  const day = parseDay(date)
  if (day === null) throw new AppError('validation_failed', `date ${date} is not a calendar date`)
  if (day > dayIndex()) throw new AppError('validation_failed', `date ${date} is in the future`)
  return day
}

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
        querystring: Type.Object(
          {
            ...PeriodQuery,
            kind: Type.Optional(Kind),
            limit: Type.Integer({ minimum: 1, maximum: 100, default: 10 }),
            offset: Type.Optional(Type.Integer({ minimum: 0, maximum: 1000 })),
          },
          { additionalProperties: false },
        ),
      },
    },
    async (request) => {
      const { period, date, kind, limit, offset } = request.query
      const items = await counters.rankings({
        period,
        day: dayOf(period, date),
        kind,
        limit,
        offset: offset ?? 0,
      })
      // Echo what was asked (period always), so a page of results says which ranking it is.
      return {
        period,
        ...(date && { date }),
        ...(kind && { kind }),
        ...(offset !== undefined && { offset }),
        items,
      }
    },
  )

  app.get(
    '/api/items/:id/rank',
    {
      schema: {
        tags: ['items'],
        params: ItemId,
        querystring: Type.Object(PeriodQuery, { additionalProperties: false }),
        response: {
          200: Type.Object({
            id: Type.Integer(),
            period: Type.String(),
            rank: Type.Union([Type.Integer(), Type.Null()]),
            views: Type.Number(),
            of: Type.Integer(),
          }),
        },
      },
    },
    async (request) => {
      const { period, date } = request.query
      const rank = await counters.rankOf(request.params.id, period, dayOf(period, date))
      return { id: request.params.id, period, ...rank }
    },
  )
}
