import { Type } from 'typebox'
import { AppError } from '../errors.ts'
import type { AdminCheck } from '../infra/auth.ts'
import type { Http } from '../infra/http.ts'
import { retryAfterSeconds } from '../ratelimit/index.ts'
import type { CheckBuyLimits } from './limits.ts'
import type { SeckillService } from './service.ts'

const Id = Type.Integer({ minimum: 1, maximum: 9_007_199_254_740_991 })
const Instant = Type.Union([Type.String(), Type.Null()])
const Product = Type.Object({
  id: Type.Integer(),
  name: Type.String(),
  stock: Type.Integer(),
  remaining: Type.Integer(),
  price: Type.Number(),
  startsAt: Instant,
  endsAt: Instant,
  createdAt: Type.String(),
})
const Order = Type.Object({
  id: Type.Integer(),
  productId: Type.Integer(),
  userId: Type.String(),
  createdAt: Type.String(),
})

/** Flash sale over HTTP: parse, call the service, answer. */
export function seckillRoutes(
  app: Http,
  deps: { seckill: SeckillService; admin: AdminCheck; limits: CheckBuyLimits },
) {
  const { seckill, admin, limits } = deps

  app.post(
    '/api/products',
    {
      onRequest: admin.requireAdmin,
      schema: {
        tags: ['flash sale'],
        security: [{ admin: [] }],
        body: Type.Object(
          {
            name: Type.String({ minLength: 1, maxLength: 200 }),
            stock: Type.Integer({ minimum: 0, maximum: 10_000_000 }),
            price: Type.Optional(Type.Number({ minimum: 0, maximum: 999_999_999 })),
            startsAt: Type.Optional(Type.String({ format: 'date-time' })),
            endsAt: Type.Optional(Type.String({ format: 'date-time' })),
          },
          { additionalProperties: false },
        ),
        response: { 201: Product },
      },
    },
    async (request, reply) => reply.status(201).send(await seckill.createProduct(request.body)),
  )

  app.get(
    '/api/products/:id',
    { schema: { tags: ['flash sale'], params: Type.Object({ id: Id }), response: { 200: Product } } },
    async (request) => seckill.getProduct(request.params.id),
  )

  app.post(
    '/api/seckill/:productId',
    {
      schema: {
        tags: ['flash sale'],
        params: Type.Object({ productId: Id }),
        body: Type.Object(
          // No control characters: the id is a Redis hash field and shows up in admin lists.
          { userId: Type.String({ minLength: 1, maxLength: 128, pattern: '^[^\\u0000-\\u001f\\u007f]+$' }) },
          { additionalProperties: false },
        ),
        response: { 202: Type.Object({ taskId: Type.String() }) },
      },
    },
    async (request, reply) => {
      const verdict = await limits(request.body.userId, request.ip)
      if (!verdict.allowed) {
        const retryAfter = retryAfterSeconds(verdict.retryAfterMs)
        reply.header('retry-after', String(retryAfter))
        throw new AppError('rate_limited', `too many attempts; retry in ${retryAfter} s`, {
          details: { retryAfter },
        })
      }
      return reply.status(202).send(await seckill.buy(request.params.productId, request.body.userId))
    },
  )

  app.get(
    '/api/orders',
    {
      onRequest: admin.requireAdmin,
      schema: {
        tags: ['flash sale'],
        security: [{ admin: [] }],
        querystring: Type.Object({
          productId: Type.Optional(Id),
          limit: Type.Integer({ minimum: 1, maximum: 10_000, default: 1000 }),
          cursor: Type.Optional(Type.String({ pattern: '^[0-9]{1,15}$' })),
        }),
        response: {
          200: Type.Object({
            orders: Type.Array(Order),
            nextCursor: Type.Union([Type.String(), Type.Null()]),
          }),
        },
      },
    },
    async (request) =>
      seckill.listOrders({
        productId: request.query.productId,
        limit: request.query.limit,
        cursor: request.query.cursor === undefined ? undefined : Number(request.query.cursor),
      }),
  )
}
