import { Type } from 'typebox'
import { errorCodes } from '../errors.ts'
import type { AdminCheck } from '../infra/auth.ts'
import type { Http } from '../infra/http.ts'
import { retryAfterSeconds, setRateLimitHeaders } from '../ratelimit/index.ts'
import { seckillErrors } from './errors.ts'
import type { CheckBuyLimits } from './limits.ts'
import { REFUSAL_MESSAGES, type SeckillService } from './service.ts'

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
/** The error shape of API.md, declared so the hot route's refusals serialize as fast as its 202. */
const Refusal = Type.Object({
  error: Type.Object({
    code: Type.String(),
    message: Type.String(),
    retryAfter: Type.Optional(Type.Integer()),
  }),
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
        response: {
          202: Type.Object({ taskId: Type.String() }),
          403: Refusal,
          404: Refusal,
          409: Refusal,
          429: Refusal,
        },
      },
    },
    // Refusals are most of a rush's answers: sent as they are, without the cost of an Error and its handler.
    async (request, reply) => {
      // Known sold out in this process: refused before the limiter and the admission script (no Redis call).
      if (seckill.knownSoldOut(request.params.productId)) {
        return reply
          .status(seckillErrors.codes.sold_out)
          .send({ error: { code: 'sold_out', message: REFUSAL_MESSAGES.sold_out } })
      }
      const verdict = await limits(request.body.userId, request.ip)
      setRateLimitHeaders(reply, verdict.quota)
      if (!verdict.allowed) {
        const retryAfter = retryAfterSeconds(verdict.retryAfterMs)
        const message = `too many attempts; retry in ${retryAfter} s`
        return reply
          .status(errorCodes.rate_limited)
          .header('retry-after', String(retryAfter))
          .send({ error: { code: 'rate_limited', message, retryAfter } })
      }
      const result = await seckill.buy(request.params.productId, request.body.userId)
      if (result.admitted) return reply.status(202).send({ taskId: result.taskId })
      const { refusal } = result
      return reply
        .status(seckillErrors.codes[refusal])
        .send({ error: { code: refusal, message: REFUSAL_MESSAGES[refusal] } })
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
