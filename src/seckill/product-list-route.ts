import { Type } from 'typebox'
import type { Http } from '../infra/http.ts'
import type { SeckillService } from './service.ts'

const Instant = Type.Union([Type.String(), Type.Null()])
const ProductSchema = Type.Object({
  id: Type.Integer(),
  name: Type.String(),
  stock: Type.Integer(),
  remaining: Type.Integer(),
  price: Type.Number(),
  startsAt: Instant,
  endsAt: Instant,
  createdAt: Type.String(),
})

/** Sales that ended longer ago than this are left out of the list (the page is about sales you can join). */
const SHOW_ENDED_FOR_MS = 24 * 3600_000

/**
 * `GET /api/products`: the flash-sale page lists the products that exist (docs/api.md has `GET /api/products/:id`
 * for one). Open and upcoming sales (and those ended in the last day), newest first, each with its live
 * `remaining` read from Redis like `GET /api/products/:id`.
 */
export function productListRoute(app: Http, deps: { seckill: SeckillService }) {
  const { seckill } = deps
  app.get(
    '/api/products',
    {
      schema: {
        tags: ['flash sale'],
        querystring: Type.Object({ limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }) }),
        response: { 200: Type.Object({ products: Type.Array(ProductSchema) }) },
      },
    },
    async (request) => {
      const endedAfter = new Date(Date.now() - SHOW_ENDED_FOR_MS).toISOString()
      return { products: await seckill.listProducts({ endedAfter, limit: request.query.limit }) }
    },
  )
}
