import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { dbKinds, startTestApp, type TestApp } from '../support/app.ts'

describe.each(dbKinds)('view counters on %s', (db) => {
  let app: TestApp
  let address: string
  beforeAll(async () => {
    app = await startTestApp({ db })
    address = await app.http.listen({ port: 0, host: '127.0.0.1' })
  })
  afterAll(() => app.close())

  async function createItem(title: string, kind = 'article') {
    const res = await app.http.inject({
      method: 'POST',
      url: '/api/items',
      headers: app.auth,
      payload: { kind, title },
    })
    expect(res.statusCode).toBe(201)
    return res.json() as { id: number }
  }

  it('counts exactly under 50 concurrent clients x 200 views = 10 000', async () => {
    const { id } = await createItem('hot article')
    const seen: number[] = []
    // Real HTTP over real sockets: 50 clients in parallel, each sending its 200 views one after another.
    const client = async (c: number) => {
      for (let i = 0; i < 200; i++) {
        const res = await fetch(`${address}/api/items/${id}/views`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ visitorId: `c${c}` }),
        })
        expect(res.status).toBe(200)
        seen.push(((await res.json()) as { views: number }).views)
      }
    }
    await Promise.all(Array.from({ length: 50 }, (_, c) => client(c)))
    const item = (await app.http.inject({ method: 'GET', url: `/api/items/${id}` })).json()
    expect(item.views).toBe(10_000)
    // Every answer "counts this view": the 10 000 answers are exactly 1..10 000, each once.
    expect(new Set(seen).size).toBe(10_000)
    expect(Math.min(...seen)).toBe(1)
    expect(Math.max(...seen)).toBe(10_000)
    expect(item.uniqueVisitors).toBe(50)
  }, 240_000) // 10 000 real HTTP round trips: slow on a loaded 2-core machine, never wrong

  it('estimates 10 000 unique visitors within 2 %', async () => {
    const { id } = await createItem('many readers')
    const batch = 500
    for (let start = 0; start < 10_000; start += batch) {
      await Promise.all(
        Array.from({ length: batch }, (_, i) =>
          app.http.inject({
            method: 'POST',
            url: `/api/items/${id}/views`,
            payload: { visitorId: `visitor-${start + i}` },
          }),
        ),
      )
    }
    const item = (await app.http.inject({ method: 'GET', url: `/api/items/${id}` })).json()
    expect(item.views).toBe(10_000)
    expect(Math.abs(item.uniqueVisitors - 10_000) / 10_000).toBeLessThan(0.02)
  })

  it('answers 404 item_not_found for an unknown id without any SQL query', async () => {
    const before = app.queries.length
    const res = await app.http.inject({ method: 'POST', url: '/api/items/987654/views', payload: {} })
    expect(res.statusCode).toBe(404)
    expect(res.json().error.code).toBe('item_not_found')
    expect(app.queries.length).toBe(before)
  })

  it('identifies visitors by visitorId, else the hs_vid cookie it sets', async () => {
    const { id } = await createItem('cookies')
    const first = await app.http.inject({ method: 'POST', url: `/api/items/${id}/views` })
    const cookie = first.cookies.find((c) => c.name === 'hs_vid')
    expect(cookie?.value).toMatch(/^[0-9a-f-]{36}$/)
    expect(cookie?.httpOnly).toBe(true)
    // The first view is counted under the id the cookie hands out, not the client address.
    expect(first.json()).toMatchObject({ views: 1, uniqueVisitors: 1 })
    const again = await app.http.inject({
      method: 'POST',
      url: `/api/items/${id}/views`,
      cookies: { hs_vid: cookie?.value ?? '' },
    })
    expect(again.cookies.find((c) => c.name === 'hs_vid')).toBeUndefined()
    // A new visitor's first and second views: one unique visitor.
    expect(again.json()).toMatchObject({ views: 2, uniqueVisitors: 1 })
    const explicit = await app.http.inject({
      method: 'POST',
      url: `/api/items/${id}/views`,
      cookies: { hs_vid: cookie?.value ?? '' },
      payload: { visitorId: 'someone-else' },
    })
    expect(explicit.json()).toMatchObject({ views: 3, uniqueVisitors: 2 }) // visitorId wins over the cookie
  })

  it('lists items newest first with a working cursor and kind filter', async () => {
    const local = await startTestApp({ db })
    try {
      for (let i = 0; i < 5; i++) {
        await local.http.inject({
          method: 'POST',
          url: '/api/items',
          headers: local.auth,
          payload: { kind: i % 2 ? 'video' : 'article', title: `n${i}` },
        })
      }
      const page1 = (await local.http.inject({ method: 'GET', url: '/api/items?limit=2' })).json()
      expect(page1.items.map((i: { title: string }) => i.title)).toEqual(['n4', 'n3'])
      const page2 = (
        await local.http.inject({ method: 'GET', url: `/api/items?limit=2&cursor=${page1.nextCursor}` })
      ).json()
      expect(page2.items.map((i: { title: string }) => i.title)).toEqual(['n2', 'n1'])
      const page3 = (
        await local.http.inject({ method: 'GET', url: `/api/items?limit=2&cursor=${page2.nextCursor}` })
      ).json()
      expect(page3.items.map((i: { title: string }) => i.title)).toEqual(['n0'])
      expect(page3.nextCursor).toBeNull()
      const videos = (await local.http.inject({ method: 'GET', url: '/api/items?kind=video' })).json()
      expect(videos.items.map((i: { title: string }) => i.title)).toEqual(['n3', 'n1'])
    } finally {
      await local.close()
    }
  })

  it('deletes an item: its views are refused afterwards', async () => {
    const { id } = await createItem('short-lived')
    await app.http.inject({ method: 'POST', url: `/api/items/${id}/views`, payload: { visitorId: 'a' } })
    const del = await app.http.inject({ method: 'DELETE', url: `/api/items/${id}`, headers: app.auth })
    expect(del.statusCode).toBe(204)
    const view = await app.http.inject({ method: 'POST', url: `/api/items/${id}/views`, payload: {} })
    expect(view.statusCode).toBe(404)
    expect((await app.http.inject({ method: 'GET', url: `/api/items/${id}` })).statusCode).toBe(404)
  })
})
