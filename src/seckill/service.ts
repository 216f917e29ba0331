import { randomUUID } from 'node:crypto'
import { AppError, unavailable } from '../errors.ts'
import type { Logger } from '../infra/logger.ts'
import type { RedisClient } from '../infra/redis.ts'
import type { TaskProducer } from '../tasks/types.ts'
import type { LiveProduct, Refusal } from './admission.ts'
import { seckillErrors } from './errors.ts'
import { readyKey } from './keys.ts'
import { ORDER_TASK, type OrderTaskKwargs } from './order-task.ts'
import type { OrderRow } from './orders.ts'
import { rebuildSeckill } from './restore.ts'
import type { SoldOutMemory } from './sold-out.ts'
import type { SeckillStores } from './stores.ts'

export interface Product {
  id: number
  name: string
  stock: number
  remaining: number
  price: number
  startsAt: string | null
  endsAt: string | null
  createdAt: string
}

export interface NewProduct {
  name: string
  stock: number
  price?: number
  startsAt?: string
  endsAt?: string
}

export type BuyResult = { admitted: true; taskId: string } | { admitted: false; refusal: Refusal }

export const REFUSAL_MESSAGES: Record<Refusal, string> = {
  product_not_found: 'no such product',
  not_started: 'the sale has not started yet',
  ended: 'the sale has ended',
  already_purchased: 'this user has already bought this product',
  sold_out: 'the product is sold out',
}

const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString())

function view(id: number, live: LiveProduct): Product {
  return {
    id,
    name: live.name,
    stock: live.stock,
    remaining: live.remaining,
    price: live.price,
    startsAt: iso(live.startsAt),
    endsAt: iso(live.endsAt),
    createdAt: live.createdAt,
  }
}

/** A timestamp of the API as stored: normalised ISO 8601 (UTC), so SQL compares them as strings. */
function instant(value: string | undefined, field: string): string | null {
  if (value === undefined) return null
  const ms = Date.parse(value)
  if (Number.isNaN(ms)) {
    throw new AppError('validation_failed', `${field} is not a date-time`, { details: { field } })
  }
  return new Date(ms).toISOString()
}

/**
 * The flash sale: products, admission and orders. Knows nothing of HTTP. Admission is one Lua script in Redis
 * (window, one per user, stock); the order is written by a task, published with a broker confirm before the
 * buyer hears 202, and the admission is undone when that publish fails.
 */
export function createSeckillService(options: {
  redis: RedisClient
  prefix: string
  log: Logger
  producer: TaskProducer
  stores: SeckillStores
  /** Products known sold out in this process (sold-out.ts); without it every attempt asks Redis. */
  soldOut?: SoldOutMemory
}) {
  const { redis, prefix, log, producer, soldOut } = options
  const { products, orders, admissions } = options.stores
  const rebuild = () => rebuildSeckill({ redis, prefix, products, orders, admissions, log })

  /** Redis came back empty (no ready mark): rebuild from SQL once. True when the caller should look again. */
  async function rebuiltAfterLoss(): Promise<boolean> {
    if ((await redis.exists(readyKey(prefix))) === 1) return false
    await rebuild()
    return true
  }

  async function live(id: number): Promise<LiveProduct> {
    let product = await admissions.read(id)
    if (!product && (await rebuiltAfterLoss())) product = await admissions.read(id)
    if (!product) throw seckillErrors.error('product_not_found', REFUSAL_MESSAGES.product_not_found)
    return product
  }

  return {
    rebuild,

    async createProduct(input: NewProduct): Promise<Product> {
      const startsAt = instant(input.startsAt, 'body.startsAt')
      const endsAt = instant(input.endsAt, 'body.endsAt')
      if (startsAt !== null && endsAt !== null && endsAt <= startsAt) {
        throw new AppError('validation_failed', 'body.endsAt must be after body.startsAt', {
          details: { field: 'body.endsAt' },
        })
      }
      const price = Math.round((input.price ?? 0) * 100) / 100
      // SQL first (the record), then Redis, which admissions read; a product SQL has but Redis lacks is
      // restored by the rebuild or the reconciliation.
      const row = await products.insert({ name: input.name, stock: input.stock, price, startsAt, endsAt })
      const fields = {
        name: row.name,
        price: row.price,
        stock: row.stock,
        startsAt: startsAt === null ? undefined : Date.parse(startsAt),
        endsAt: endsAt === null ? undefined : Date.parse(endsAt),
        createdAt: row.createdAt,
      }
      await admissions.load(row.id, fields, 'new')
      return view(row.id, { ...fields, remaining: row.stock })
    },

    /** Answered from Redis: no SQL on the product page, however hot. */
    async getProduct(id: number): Promise<Product> {
      return view(id, await live(id))
    },

    /**
     * True when this process knows the product is sold out: the attempt can be refused before the limiter and
     * the admission script (refusing never oversells; see sold-out.ts for how long it is trusted).
     */
    knownSoldOut: (productId: number) => soldOut?.isSoldOut(productId) ?? false,

    /**
     * Admits the buyer and queues the order: the task id the client polls, or why not (a refusal is normal
     * work in a flash sale, 99 % of the answers: returned, not thrown).
     */
    async buy(productId: number, userId: string): Promise<BuyResult> {
      const admissionId = randomUUID()
      const ticket = soldOut?.ticket(productId) ?? 0
      let result = await admissions.admit(productId, userId, admissionId)
      if (!result.admitted && result.refusal === 'product_not_found' && (await rebuiltAfterLoss())) {
        result = await admissions.admit(productId, userId, admissionId)
      }
      if (!result.admitted) {
        if (result.refusal === 'sold_out') soldOut?.remember(productId, ticket)
        return { admitted: false, refusal: result.refusal }
      }
      const kwargs: OrderTaskKwargs = { productId, userId, admissionId, admittedAt: result.admittedAt }
      try {
        await producer.send(ORDER_TASK, [], { ...kwargs }, { taskId: admissionId })
      } catch (error) {
        // Not published: give the unit and the user's place back. If an order task already claimed the
        // admission, the broker had the message after all and the order stands. (If Redis fails here too,
        // the admission stays and reconciliation sends its order later: never lost, never leaked.)
        if ((await admissions.release(productId, userId, admissionId)) === 'claimed') {
          return { admitted: true, taskId: admissionId }
        }
        log.warn({ err: error, productId }, 'order task not published, admission undone')
        throw unavailable('the order queue', error)
      }
      return { admitted: true, taskId: admissionId }
    },

    /**
     * Products whose sale is open, upcoming or ended after `endedAfter`, newest first, at most `limit`, each with
     * its live `remaining` from Redis like getProduct (one gone between the SQL read and Redis is left out).
     */
    async listProducts(query: { endedAfter: string; limit: number }): Promise<Product[]> {
      let ids: number[] = []
      for await (const page of products.all({ endedAfter: query.endedAfter })) {
        // Pages come oldest first; keep the newest `limit`.
        ids = ids.concat(page.map((row) => row.id)).slice(-query.limit)
      }
      const found = await Promise.all(
        ids.reverse().map((id) =>
          live(id).then(
            (product) => view(id, product),
            (error: unknown) => {
              if (error instanceof AppError && error.code === 'product_not_found') return null
              throw error
            },
          ),
        ),
      )
      return found.filter((p): p is Product => p !== null)
    },

    async listOrders(query: { productId?: number; limit: number; cursor?: number }) {
      if (query.productId !== undefined) await live(query.productId)
      const rows = await orders.list({ productId: query.productId, limit: query.limit, after: query.cursor })
      const last = rows[rows.length - 1]
      return {
        orders: rows.map(({ admissionId: _internal, ...order }: OrderRow) => order),
        nextCursor: rows.length === query.limit && last ? String(last.id) : null,
      }
    },
  }
}

export type SeckillService = ReturnType<typeof createSeckillService>
