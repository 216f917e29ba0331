import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestApp, type TestApp } from '../support/app.ts'
import { createItem, createProduct, ensureBuilt, recordViews } from './support.ts'

/** Reads server-sent events from a real HTTP stream until `done` says enough (or the time runs out). */
async function readEvents(
  url: string,
  done: (events: { event: string; data: string }[]) => boolean,
  ms = 10_000,
) {
  const controller = new AbortController()
  const timer = setTimeout(() => controller.abort(), ms)
  const events: { event: string; data: string }[] = []
  const res = await fetch(url, { signal: controller.signal })
  expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/)
  return {
    events: (async () => {
      const decoder = new TextDecoder()
      let buffer = ''
      try {
        for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
          buffer += decoder.decode(chunk, { stream: true })
          let cut = buffer.indexOf('\n\n')
          while (cut >= 0) {
            const block = buffer.slice(0, cut)
            buffer = buffer.slice(cut + 2)
            const event = /^event: (.*)$/m.exec(block)?.[1]
            const data = /^data: (.*)$/m.exec(block)?.[1]
            if (event && data !== undefined) events.push({ event, data })
            if (done(events)) return events
            cut = buffer.indexOf('\n\n')
          }
        }
      } catch (error) {
        if ((error as Error).name !== 'AbortError') throw error
      } finally {
        clearTimeout(timer)
        controller.abort()
      }
      return events
    })(),
  }
}

describe('web UI serving, live events and admin task routes', () => {
  let app: TestApp
  let other: TestApp
  let address: string

  beforeAll(async () => {
    await ensureBuilt()
    app = await startTestApp()
    await app.start(['api', 'worker'])
    address = await app.http.listen({ port: 0, host: '127.0.0.1' })
    // A second process of the same deployment: same key prefix, same database, same broker.
    other = await startTestApp({ keyPrefix: app.prefix, databaseUrl: app.config.databaseUrl })
  })
  afterAll(async () => {
    await other?.close()
    await app?.close()
  })

  it('serves index.html for client routes with no-cache, and hashed assets for a year', async () => {
    for (const url of ['/', '/flash-sale', '/items/12', '/admin/queues']) {
      const res = await app.http.inject({ method: 'GET', url, headers: { accept: 'text/html,*/*;q=0.8' } })
      expect(res.statusCode, url).toBe(200)
      expect(res.headers['content-type']).toMatch(/^text\/html/)
      expect(res.headers['cache-control']).toBe('no-cache')
      expect(res.body).toContain('<div id="app"></div>')
    }
    const html = (await app.http.inject({ method: 'GET', url: '/', headers: { accept: 'text/html' } })).body
    const script = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1]
    expect(script).toBeDefined()
    const asset = await app.http.inject({ method: 'GET', url: script as string })
    expect(asset.statusCode).toBe(200)
    expect(asset.headers['content-type']).toMatch(/javascript/)
    expect(asset.headers['cache-control']).toBe('public, max-age=31536000, immutable')
    // Pre-compressed by the build: sent as is to a browser that takes gzip.
    const gz = await app.http.inject({
      method: 'GET',
      url: script as string,
      headers: { 'accept-encoding': 'gzip' },
    })
    expect(gz.headers['content-encoding']).toBe('gzip')
    expect(gz.rawPayload.length).toBeLessThan(asset.rawPayload.length)
    const banner = await app.http.inject({ method: 'GET', url: '/banners/flash-sale.svg' })
    expect(banner.statusCode).toBe(200)
    expect(banner.headers['cache-control']).toBe('public, max-age=3600')
  })

  it('keeps API and ops paths out of the fallback: unknown ones are JSON 404s', async () => {
    for (const url of ['/api/nope', '/api', '/metrics/x', '/assets/missing-abc.js']) {
      const res = await app.http.inject({ method: 'GET', url })
      expect(res.statusCode, url).toBe(404)
      expect(res.json().error.code, url).toBe('not_found')
    }
    expect((await app.http.inject({ method: 'GET', url: '/%E0%A4%A' })).statusCode).toBe(400) // malformed escape
    expect((await app.http.inject({ method: 'GET', url: '/healthz' })).json()).toEqual({ status: 'ok' })
    expect((await app.http.inject({ method: 'GET', url: '/openapi.json' })).json().openapi).toMatch(/^3\./)
    // Never a file outside web/dist.
    const outside = await app.http.inject({ method: 'GET', url: '/..%2f..%2fpackage.json' })
    expect(outside.body).not.toContain('"name": "hotspot"')
  })

  it('lists open and upcoming products with their live remaining stock', async () => {
    const open = await createProduct(app, { name: 'Open now', stock: 2 })
    const soon = await createProduct(app, {
      name: 'Later',
      stock: 5,
      startsAt: new Date(Date.now() + 3600_000).toISOString(),
    })
    const old = await createProduct(app, {
      name: 'Long gone',
      stock: 1,
      startsAt: new Date(Date.now() - 5 * 86_400_000).toISOString(),
      endsAt: new Date(Date.now() - 4 * 86_400_000).toISOString(),
    })
    const buy = await app.http.inject({
      method: 'POST',
      url: `/api/seckill/${open.id}`,
      payload: { userId: 'u1' },
    })
    expect(buy.statusCode).toBe(202)
    const list = (await app.http.inject({ method: 'GET', url: '/api/products?limit=10' })).json()
      .products as {
      id: number
      remaining: number
    }[]
    expect(list.map((p) => p.id)).toEqual([soon.id, open.id]) // newest first; the long-ended one is left out
    expect(list.find((p) => p.id === open.id)?.remaining).toBe(1)
    expect(list.map((p) => p.id)).not.toContain(old.id)
    expect((await app.http.inject({ method: 'GET', url: '/api/products?limit=0' })).statusCode).toBe(400)
  })

  it('streams aggregated live counts: 200 views on another process arrive as a few events, exact', async () => {
    const item = await createItem(app, 'streamed')
    const reading = await readEvents(`${address}/api/events`, (events) =>
      events.some((e) =>
        JSON.parse(e.data).items.some(
          (i: { id: number; views: number }) => i.id === item.id && i.views === 200,
        ),
      ),
    )
    await new Promise((r) => setTimeout(r, 200)) // the stream is open before the views start
    await recordViews(
      other,
      item.id,
      Array.from({ length: 200 }, (_, i) => `v${i % 50}`),
    )
    const events = (await reading.events).filter((e) => e.event === 'views')
    const mine = events.filter((e) => JSON.parse(e.data).items.some((i: { id: number }) => i.id === item.id))
    const last = JSON.parse(mine[mine.length - 1]?.data ?? '{}').items.find(
      (i: { id: number }) => i.id === item.id,
    )
    expect(last).toEqual({ id: item.id, views: 200, uniqueVisitors: 50 })
    // One event per 250 ms window at most, never one per view.
    expect(mine.length).toBeGreaterThanOrEqual(1)
    expect(mine.length).toBeLessThan(20)
  })

  it('ignores live counts of another deployment on the same broker', async () => {
    const stranger = await startTestApp() // own prefix, own database
    try {
      const mineItem = await createItem(app, 'mine')
      const theirs = await createItem(stranger, 'theirs')
      const reading = await readEvents(`${address}/api/events`, (events) =>
        events.some((e) => JSON.parse(e.data).items.some((i: { id: number }) => i.id === mineItem.id)),
      )
      await new Promise((r) => setTimeout(r, 200))
      await recordViews(stranger, theirs.id, ['x', 'y', 'z'])
      await new Promise((r) => setTimeout(r, 600)) // theirs would have been published by now
      await recordViews(other, mineItem.id, ['a'])
      const events = await reading.events
      for (const e of events) for (const i of JSON.parse(e.data).items) expect(i.id).toBe(mineItem.id)
    } finally {
      await stranger.close()
    }
  })

  it('admin task routes: queue depths and counters, dead-letter replay, 401 and 400', async () => {
    for (const [method, url] of [
      ['GET', '/api/admin/queues'],
      ['GET', '/api/admin/dead-letters'],
      ['POST', '/api/admin/dead-letters/replay'],
    ] as const) {
      const res = await app.http.inject({
        method,
        url,
        payload: method === 'POST' ? { all: true } : undefined,
      })
      expect(res.statusCode, url).toBe(401)
    }
    const send = await app.http.inject({
      method: 'POST',
      url: '/api/tasks',
      headers: app.auth,
      payload: { name: 'hotspot.add', args: [2, 3] },
    })
    const { taskId } = send.json()
    expect((await app.tasks.results.wait(taskId, 10_000)).status).toBe('SUCCESS')
    const report = (
      await app.http.inject({ method: 'GET', url: '/api/admin/queues', headers: app.auth })
    ).json()
    const celery = report.queues.find((q: { name: string }) => q.name === `${app.prefix}.celery`)
    expect(celery.consumers).toBeGreaterThanOrEqual(1)
    expect(celery.messages).toBeTypeOf('number')
    expect(report.deadLetters.name).toBe('hotspot.dlq')
    expect(report.delayed).toBeTypeOf('number')
    expect(report.tasks.find((t: { task: string }) => t.task === 'hotspot.add')).toMatchObject({
      sent: 1,
      succeeded: 1,
    })

    const bad = await app.http.inject({
      method: 'POST',
      url: '/api/admin/dead-letters/replay',
      headers: app.auth,
      payload: {},
    })
    expect(bad.statusCode).toBe(400)
    expect(bad.json().error).toMatchObject({ code: 'validation_failed', field: 'body.taskIds' })

    // A task that fails for good lands in the dead-letter queue; replaying it by id runs it again (and it fails again).
    const failed = (
      await app.http.inject({
        method: 'POST',
        url: '/api/tasks',
        headers: app.auth,
        payload: { name: 'hotspot.fail', args: ['on purpose'] },
      })
    ).json().taskId as string
    expect((await app.tasks.results.wait(failed, 10_000)).status).toBe('FAILURE')
    await expect
      .poll(
        async () => {
          const res = await app.http.inject({
            method: 'GET',
            url: '/api/admin/dead-letters?limit=1000',
            headers: app.auth,
          })
          return res.json().deadLetters.map((d: { taskId: string }) => d.taskId)
        },
        { timeout: 10_000 },
      )
      .toContain(failed)
    await app.redis.del(`celery-task-meta-${failed}`)
    const replay = await app.http.inject({
      method: 'POST',
      url: '/api/admin/dead-letters/replay',
      headers: app.auth,
      payload: { taskIds: [failed] },
    })
    expect(replay.json()).toEqual({ replayed: [failed] })
    await expect
      .poll(async () => (await app.tasks.results.get(failed)).status, { timeout: 10_000 })
      .toBe('FAILURE')
  })
})
