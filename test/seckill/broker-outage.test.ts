import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type RunningServer, startRabbitMQ } from '../../src/infra/local-servers.ts'
import { productKeys } from '../../src/seckill/keys.ts'
import { dbKinds, startTestApp, type TestApp } from '../support/app.ts'
import { buy, createProduct, remaining, waitForOrders } from './support.ts'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const STOCK = 5000

interface Sale {
  app: TestApp
  id: number
  answers: { userId: string; status: number; taskId?: string }[]
}

/** Buyers keep coming (20 clients per app) until told to stop; every answer is recorded. */
function keepBuying(sale: Sale, tag: string) {
  let stop = false
  let n = 0
  const loops = Array.from({ length: 20 }, async () => {
    while (!stop) {
      const userId = `${tag}-${n++}`
      const res = await buy(sale.app, sale.id, userId)
      sale.answers.push({ userId, status: res.statusCode, taskId: res.json().taskId })
      await sleep(10)
    }
  })
  return async () => {
    stop = true
    await Promise.all(loops)
  }
}

const count = (sale: Sale, status: number) => sale.answers.filter((a) => a.status === status).length

async function until(check: () => boolean, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs
  while (!check() && Date.now() < deadline) await sleep(50)
  expect(check()).toBe(true)
}

/**
 * Its own RabbitMQ, stopped in the middle of a rush and started again on the same port and data directory.
 * Every SQL engine runs its sale at the same time, through the same outage.
 */
describe('flash sale when RabbitMQ stops during a rush', () => {
  let dir: string
  let broker: RunningServer
  const sales: Sale[] = []

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hotspot-seckill-broker-'))
    broker = await startRabbitMQ({ dir })
    for (const db of dbKinds) {
      // No per-address limit: every buyer here comes from one address, and a quiet machine outruns 1 000 / 10 s.
      const app = await startTestApp({ db, amqpUrl: broker.url, env: { SECKILL_IP_LIMIT: '0' } })
      await app.start(['worker'])
      sales.push({ app, id: await createProduct(app, { stock: STOCK }), answers: [] })
    }
  })
  afterAll(async () => {
    for (const sale of sales) await sale.app.close()
    await broker.stop()
    fs.rmSync(dir, { recursive: true, force: true })
  })

  it('no admission leaks: every 202 gets its order once the broker is back, every 503 gave its unit back', async () => {
    const port = Number(new URL(broker.url).port)
    const stops = sales.map((sale, i) => keepBuying(sale, `b${i}`))
    await until(() => sales.every((s) => count(s, 202) >= 30), 30_000)
    await broker.stop()
    await until(() => sales.every((s) => count(s, 503) >= 1), 30_000)
    broker = await startRabbitMQ({ dir, port })
    const before = sales.map((s) => count(s, 202))
    // Buying works again once the producer has reconnected by itself.
    await until(() => sales.every((s, i) => count(s, 202) >= (before[i] as number) + 30), 60_000)
    await Promise.all(stops.map((stop) => stop()))

    for (const sale of sales) {
      const { app, id } = sale
      expect(sale.answers.filter((a) => a.status !== 202 && a.status !== 503)).toEqual([])
      const admitted = sale.answers.filter((a) => a.status === 202)
      const refused = sale.answers.filter((a) => a.status === 503)
      expect(refused.length).toBeGreaterThan(0)
      // Stock and places: exactly the 202s hold them.
      expect(await remaining(app, id)).toBe(STOCK - admitted.length)
      const buyers = await app.redis.hkeys(productKeys(app.prefix, id).buyers)
      expect(new Set(buyers)).toEqual(new Set(admitted.map((a) => a.userId)))
      // Every 202 has its order, once.
      const list = await waitForOrders(app, id, admitted.length, 60_000)
      expect(list).toHaveLength(admitted.length)
      expect(new Set(list.map((o) => o.userId))).toEqual(new Set(admitted.map((a) => a.userId)))
      const states = await Promise.all(
        admitted.map((a) => app.tasks.results.wait(a.taskId as string, 30_000)),
      )
      expect(states.filter((s) => s.status !== 'SUCCESS')).toEqual([])
      // A user refused with 503 was given their place back: they can buy now.
      const retry = await buy(app, id, refused[0]?.userId as string)
      expect(retry.statusCode).toBe(202)
    }
  }, 180_000)
})
