import { Type } from 'typebox'
import type { Http } from '../infra/http.ts'
import type { Product, SeckillService } from '../seckill/service.ts'

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
 * `GET /api/products`: the flash-sale page needs to know which products exist, and API.md only has
 * `GET /api/products/:id`. Open and upcoming sales (and those ended in the last day), newest first, each with
 * its live `remaining` read from Redis like `GET /api/products/:id`. Reaches seckill through its service only;
 * it belongs in src/seckill/routes.ts once its owner adopts it.
 */
export function productsRoute(app: Http, deps: { seckill: SeckillService }) {
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
      let ids: number[] = []
      for await (const page of seckill.products.all({ endedAfter })) {
        // Pages come oldest first; keep the newest `limit`.
        ids = ids.concat(page.map((row) => row.id)).slice(-request.query.limit)
      }
      const found = await Promise.all(
        ids.reverse().map((id) =>
          seckill.getProduct(id).catch((error: unknown) => {
            // Gone between the SQL read and Redis: leave it out.
            if ((error as { code?: unknown }).code === 'product_not_found') return null
            throw error
          }),
        ),
      )
      const products = found.filter((p): p is Product => p !== null)
      return { products }
    },
  )
}
