import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type RunningServer, startRabbitMQ } from '../../src/infra/local-servers.ts'
import { onCluster, startTestApp, type TestApp } from '../support/app.ts'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/**
 * Every route that publishes to RabbitMQ, with a fresh body each call (new phones, new buyers): the SMS and code
 * limits must not be what answers.
 */
function publishingCalls(app: TestApp, productId: number) {
  let n = 0
  const phone = () => `138${String(10_000_000 + n++).padStart(8, '0')}`
  return {
    tasks: () =>
      app.http.inject({
        method: 'POST',
        url: '/api/tasks',
        headers: app.auth,
        payload: { name: 'hotspot.ping' },
      }),
    sms: () =>
      app.http.inject({ method: 'POST', url: '/api/sms', payload: { phone: phone(), content: 'hi' } }),
    codes: () =>
      app.http.inject({ method: 'POST', url: '/api/verification-codes', payload: { phone: phone() } }),
    seckill: () =>
      app.http.inject({ method: 'POST', url: `/api/seckill/${productId}`, payload: { userId: `u${n++}` } }),
  }
}

/** Its own RabbitMQ node, killed with SIGKILL while the app runs, then started again on the same port. */
// A RabbitMQ node of its own, the same in both profiles: run once (the cluster profile's node kills are in test/cluster).
describe.skipIf(onCluster)('publishing routes while RabbitMQ is down', () => {
  let dir: string
  let broker: RunningServer
  let app: TestApp
  let productId: number

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hotspot-http-broker-'))
    broker = await startRabbitMQ({ dir })
    app = await startTestApp({
      amqpUrl: broker.url,
      env: { SECKILL_IP_LIMIT: '0' },
    })
    const product = await app.http.inject({
      method: 'POST',
      url: '/api/products',
      headers: app.auth,
      payload: { name: 'p', stock: 1000 },
    })
    productId = product.json().id
  })
  afterAll(async () => {
    await app?.close()
    await broker?.stop()
    fs.rmSync(dir, { recursive: true, force: true })
  })

  it('answers 503 unavailable (never 500) on every publishing route, then works again unaided', async () => {
    const calls = publishingCalls(app, productId)
    for (const [name, call] of Object.entries(calls)) {
      const res = await call()
      expect(res.statusCode, `${name} before: ${res.body}`).toBe(202)
    }
    process.kill(broker.pid, 'SIGKILL')
    await sleep(300)
    for (const [name, call] of Object.entries(calls)) {
      const res = await call()
      expect(res.statusCode, `${name} while down: ${res.body}`).toBe(503)
      expect(res.json(), name).toEqual({ error: { code: 'unavailable', message: expect.any(String) } })
    }
    broker = await startRabbitMQ({ dir, port: Number(new URL(broker.url).port) })
    // While it reconnects: still 503s (or already 202s), never anything else.
    for (const [name, call] of Object.entries(calls)) {
      const deadline = Date.now() + 60_000
      for (;;) {
        const res = await call()
        expect([202, 503], `${name} reconnecting: ${res.body}`).toContain(res.statusCode)
        if (res.statusCode === 202) break
        expect(Date.now()).toBeLessThan(deadline)
        await sleep(200)
      }
    }
  }, 180_000)
})
