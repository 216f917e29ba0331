/** Helpers of the flash-sale tests: products, buying, waiting for the worker's orders. */
import { expect } from 'vitest'
import type { TestApp } from '../support/app.ts'

export interface ProductInput {
  name?: string
  stock: number
  price?: number
  startsAt?: string
  endsAt?: string
}

export async function createProduct(app: TestApp, input: ProductInput): Promise<number> {
  const res = await app.http.inject({
    method: 'POST',
    url: '/api/products',
    headers: app.auth,
    payload: { name: 'flash', ...input },
  })
  expect(res.statusCode, res.body).toBe(201)
  return res.json().id as number
}

export const buy = (app: TestApp, productId: number | string, userId: string) =>
  app.http.inject({ method: 'POST', url: `/api/seckill/${productId}`, payload: { userId } })

export async function remaining(app: TestApp, productId: number): Promise<number> {
  const res = await app.http.inject({ method: 'GET', url: `/api/products/${productId}` })
  expect(res.statusCode).toBe(200)
  return res.json().remaining as number
}

export interface OrderView {
  id: number
  productId: number
  userId: string
  createdAt: string
}

export async function orders(app: TestApp, productId: number): Promise<OrderView[]> {
  const res = await app.http.inject({
    method: 'GET',
    url: `/api/orders?productId=${productId}&limit=10000`,
    headers: app.auth,
  })
  expect(res.statusCode).toBe(200)
  return res.json().orders as OrderView[]
}

/** Polls the orders of a product until there are `count` (and no more appear for a moment). */
export async function waitForOrders(
  app: TestApp,
  productId: number,
  count: number,
  timeoutMs = 30_000,
): Promise<OrderView[]> {
  const deadline = Date.now() + timeoutMs
  let list = await orders(app, productId)
  while (list.length < count && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50))
    list = await orders(app, productId)
  }
  return list
}

/** `clients` concurrent loops, each buying for its share of `users` one request after the other. */
export async function rush(
  app: TestApp,
  productId: number,
  users: string[],
  clients: number,
  onAnswer?: (userId: string, status: number, body: { taskId?: string; error?: { code: string } }) => void,
) {
  const answers: { userId: string; status: number; code?: string; taskId?: string }[] = []
  let next = 0
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (next < users.length) {
        const userId = users[next++] as string
        const res = await buy(app, productId, userId)
        const body = res.json()
        answers.push({ userId, status: res.statusCode, code: body.error?.code, taskId: body.taskId })
        onAnswer?.(userId, res.statusCode, body)
      }
    }),
  )
  return answers
}

export const users = (n: number, tag = 'u') => Array.from({ length: n }, (_, i) => `${tag}-${i}`)
