import http from 'node:http'
import net from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { LIVE_VIEWS_TOPIC } from '../../src/counters/live.ts'
import { startTestApp, type TestApp } from '../support/app.ts'

interface Stream {
  status: number
  body: string
  /** Everything the stream sent so far. */
  received(): string
  close(): void
}

/** Opens `GET /api/events` from a given local address (127.0.0.x: each one is a different client address). */
function openStream(base: string, localAddress: string): Promise<Stream> {
  return new Promise((resolve, reject) => {
    const request = http.get(`${base}/api/events`, { localAddress, timeout: 10_000 }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      const close = () => request.destroy()
      if (res.statusCode !== 200) {
        res.on('data', (chunk: string) => {
          text += chunk
        })
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text, received: () => text, close }))
        return
      }
      res.on('data', (chunk: string) => {
        text += chunk
      })
      res.on('error', () => {})
      // Resolved once the stream's first comment arrived: the server counts it from then on.
      const ready = () => {
        if (text.includes(': connected')) {
          res.off('data', ready)
          resolve({ status: 200, body: '', received: () => text, close })
        }
      }
      res.on('data', ready)
    })
    request.on('error', reject)
    request.on('timeout', () => request.destroy(new Error('stream did not open in time')))
  })
}

async function metric(app: TestApp, line: RegExp): Promise<number | undefined> {
  const text = await app.metrics.registry.metrics()
  const found = text.split('\n').find((l) => line.test(l))
  return found === undefined ? undefined : Number(found.split(' ').pop())
}

const viewEvents = (text: string) =>
  [...text.matchAll(/^event: views\ndata: (.*)$/gm)].map(
    (m) => JSON.parse(m[1] ?? '') as { items: unknown[] },
  )

describe('GET /api/events: caps, slow readers, checked events', () => {
  let capped: TestApp
  let app: TestApp
  let cappedBase: string
  let base: string

  beforeAll(async () => {
    capped = await startTestApp({ env: { SSE_MAX_CLIENTS: '3', SSE_MAX_CLIENTS_PER_ADDRESS: '2' } })
    cappedBase = await capped.http.listen({ port: 0, host: '127.0.0.1' })
    app = await startTestApp()
    await app.start(['api'])
    base = await app.http.listen({ port: 0, host: '127.0.0.1' })
  })
  afterAll(async () => {
    await capped?.close()
    await app?.close()
  })

  it('caps streams per client address (429) and per process (503), and frees a place when one closes', async () => {
    const first = await Promise.all([
      openStream(cappedBase, '127.0.0.1'),
      openStream(cappedBase, '127.0.0.1'),
    ])
    expect(first.map((s) => s.status)).toEqual([200, 200])

    const third = await openStream(cappedBase, '127.0.0.1')
    expect(third.status).toBe(429)
    expect(JSON.parse(third.body).error).toMatchObject({ code: 'rate_limited', retryAfter: 2 })

    const other = await openStream(cappedBase, '127.0.0.2') // another address: the process has room for one more
    expect(other.status).toBe(200)
    const full = await openStream(cappedBase, '127.0.0.3')
    expect(full.status).toBe(503)
    expect(JSON.parse(full.body).error.code).toBe('unavailable')
    expect(await metric(capped, /^hotspot_sse_clients /)).toBe(3)

    first[0]?.close()
    await expect.poll(() => metric(capped, /^hotspot_sse_clients /)).toBe(2)
    const again = await openStream(cappedBase, '127.0.0.1')
    expect(again.status).toBe(200)
    for (const stream of [first[1], other, again]) stream?.close()
    await expect.poll(() => metric(capped, /^hotspot_sse_clients /)).toBe(0)
  })

  it('drops a client that stops reading, while one that reads gets every event', async () => {
    const reader = await openStream(base, '127.0.0.1')
    // A client that sends its request and then never reads a byte: the server must not buffer for it forever.
    const stalled = net.connect({
      host: '127.0.0.1',
      port: Number(new URL(base).port),
      localAddress: '127.0.0.5',
    })
    let stalledClosed = false
    stalled.on('error', () => {})
    stalled.on('close', () => {
      stalledClosed = true
    })
    await new Promise<void>((resolve) => stalled.once('connect', () => resolve()))
    stalled.write(`GET /api/events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`)
    stalled.pause()
    await expect.poll(() => metric(app, /^hotspot_sse_clients /)).toBe(2)

    // ~45 KB per event, 300 events: far more than the kernel's socket buffers hold for the stalled reader.
    const items = Array.from({ length: 1000 }, (_, i) => ({
      id: i + 1,
      views: 1_000_000 + i,
      uniqueVisitors: 1000,
    }))
    const events = 300
    for (let i = 0; i < events; i++)
      await app.tasks.events.publish(LIVE_VIEWS_TOPIC, { prefix: app.prefix, items })

    await expect
      .poll(() => metric(app, /^hotspot_sse_dropped_total\{reason="slow_consumer"\} /), { timeout: 20_000 })
      .toBe(1)
    await expect.poll(() => viewEvents(reader.received()).length, { timeout: 20_000 }).toBe(events)
    expect(await metric(app, /^hotspot_sse_clients /)).toBe(1)
    stalled.resume() // now it reads: what it gets ends, the server closed it
    await expect.poll(() => stalledClosed, { timeout: 10_000 }).toBe(true)
    reader.close()
    stalled.destroy()
  }, 90_000)

  it('relays only well-formed live counts from the bus, and only their known fields', async () => {
    const reader = await openStream(base, '127.0.0.1')
    const publish = (payload: unknown) => app.tasks.events.publish(LIVE_VIEWS_TOPIC, payload)
    await publish({
      prefix: app.prefix,
      items: [{ id: '<script>alert(1)</script>', views: 1, uniqueVisitors: 1 }],
    })
    await publish({ prefix: app.prefix, items: [{ id: 3, views: -1, uniqueVisitors: 0 }] })
    await publish({ prefix: app.prefix, items: [{ id: 3, views: 'many', uniqueVisitors: 0 }] })
    await publish({ prefix: app.prefix, items: [{ id: 3, views: 1 }] })
    await publish({
      prefix: app.prefix,
      items: Array.from({ length: 1001 }, (_, i) => ({ id: i + 1, views: 1, uniqueVisitors: 1 })),
    })
    await publish({
      prefix: app.prefix,
      items: [{ id: 7, views: 3, uniqueVisitors: 2, html: '<img src=x onerror=alert(1)>' }],
    })

    await expect.poll(() => viewEvents(reader.received()).length, { timeout: 10_000 }).toBeGreaterThan(0)
    await new Promise((r) => setTimeout(r, 300)) // anything wrongly relayed would have arrived with it
    expect(viewEvents(reader.received())).toEqual([{ items: [{ id: 7, views: 3, uniqueVisitors: 2 }] }])
    expect(reader.received()).not.toContain('<')
    expect(await metric(app, /^hotspot_sse_invalid_events_total /)).toBe(5)
    reader.close()
  })
})
