import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type RunningServer, startRedis } from '../../src/infra/local-servers.ts'
import { startTestApp, type TestApp } from '../support/app.ts'

/** These tests restart or wipe Redis, so they get a Redis of their own instead of the shared one. */
describe('view counters when Redis fails', () => {
  let dir: string
  let redis: RunningServer
  let port: number
  let app: TestApp

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hotspot-redis-fault-'))
    redis = await startRedis({ dir })
    port = Number(new URL(redis.url).port)
    app = await startTestApp({ redisUrl: redis.url })
  })
  afterAll(async () => {
    await app.close()
    await redis.stop()
    fs.rmSync(dir, { recursive: true, force: true })
  })

  const view = (id: number) => app.http.inject({ method: 'POST', url: `/api/items/${id}/views`, payload: {} })
  const views = async (id: number) =>
    (await app.http.inject({ method: 'GET', url: `/api/items/${id}` })).json().views

  async function item() {
    const res = await app.http.inject({
      method: 'POST',
      url: '/api/items',
      headers: app.auth,
      payload: { kind: 'article', title: 'f' },
    })
    return res.json().id as number
  }

  it('keeps every count across a Redis restart (AOF) and recovers without restarting the app', async () => {
    const id = await item()
    await Promise.all(Array.from({ length: 300 }, () => view(id)))
    await redis.stop()
    const down = await view(id)
    expect(down.statusCode).toBe(503)
    expect(down.json().error.code).toBe('unavailable')
    const ready = await app.http.inject({ method: 'GET', url: '/readyz' })
    expect(ready.statusCode).toBe(503)
    expect(ready.json().checks.redis).toBe('failing')
    redis = await startRedis({ dir, port })
    // ioredis reconnects by itself; the first requests may still see the reconnect in progress.
    let res = await view(id)
    for (let i = 0; i < 50 && res.statusCode !== 200; i++) {
      await new Promise((r) => setTimeout(r, 100))
      res = await view(id)
    }
    expect(res.statusCode).toBe(200)
    expect(res.json().views).toBe(301)
    expect(await views(id)).toBe(301)
  })

  it('handles NOSCRIPT after SCRIPT FLUSH', async () => {
    const id = await item()
    await view(id)
    await app.redis.script('FLUSH')
    const res = await view(id)
    expect(res.statusCode).toBe(200)
    expect(res.json().views).toBe(2)
    await app.redis.script('FLUSH')
    expect(await app.flusher.flushAll()).toBeGreaterThanOrEqual(2)
  })

  it('rebuilds counts from SQL when Redis comes back empty', async () => {
    const id = await item()
    await Promise.all(Array.from({ length: 25 }, () => view(id)))
    await app.flusher.flushAll()
    await app.redis.flushall()
    // The first view after the loss rebuilds from SQL (25 flushed views) and counts itself on top.
    const res = await view(id)
    expect(res.statusCode).toBe(200)
    expect(res.json().views).toBe(26)
    for (const period of ['all', 'week', 'day']) {
      const ranking = await app.http.inject({
        method: 'GET',
        url: `/api/rankings/views?period=${period}&limit=100`,
      })
      expect(ranking.json().items).toContainEqual({ id, title: 'f', views: 26 })
    }
  })
})
