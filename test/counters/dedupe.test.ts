import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestApp, type TestApp } from '../support/app.ts'

interface ViewAnswer {
  views: number
  uniqueVisitors: number
  counted: boolean
}

describe('COUNTERS_DEDUPE_SECONDS: a visitor counts once per window', () => {
  let apps: TestApp[]
  beforeAll(async () => {
    const first = await startTestApp({ env: { COUNTERS_DEDUPE_SECONDS: '2' } })
    // A second process on the same Redis and database: the window holds across processes.
    const second = await startTestApp({
      env: { COUNTERS_DEDUPE_SECONDS: '2' },
      databaseUrl: first.config.databaseUrl,
      keyPrefix: first.prefix,
    })
    apps = [first, second]
  })
  afterAll(async () => {
    for (const app of apps) await app.close()
  })

  async function createItem(): Promise<number> {
    const app = apps[0] as TestApp
    const res = await app.http.inject({
      method: 'POST',
      url: '/api/items',
      headers: app.auth,
      payload: { kind: 'article', title: 'once per visitor' },
    })
    return (res.json() as { id: number }).id
  }

  const view = async (app: TestApp, id: number, visitorId: string) => {
    const res = await app.http.inject({
      method: 'POST',
      url: `/api/items/${id}/views`,
      payload: { visitorId },
    })
    expect(res.statusCode).toBe(200)
    return res.json() as ViewAnswer
  }

  it('counts exactly one view per visitor under 20 visitors x 30 concurrent views over two processes', async () => {
    const id = await createItem()
    const answers = await Promise.all(
      Array.from({ length: 600 }, (_, i) => view(apps[i % 2] as TestApp, id, `v${i % 20}`)),
    )
    const counted = answers.filter((a) => a.counted)
    expect(counted).toHaveLength(20)
    // The counted answers are exactly 1..20, each once; the others report a count, not their own view.
    expect(counted.map((a) => a.views).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 20 }, (_, i) => i + 1),
    )
    const item = (await apps[0]?.http.inject({ method: 'GET', url: `/api/items/${id}` }))?.json()
    expect(item.views).toBe(20)
    expect(item.uniqueVisitors).toBe(20)
  })

  it('answers counted: false with the current counts inside the window, and counts again after it', async () => {
    const id = await createItem()
    const app = apps[0] as TestApp
    expect(await view(app, id, 'reader')).toEqual({ id, views: 1, uniqueVisitors: 1, counted: true })
    expect(await view(app, id, 'other')).toEqual({ id, views: 2, uniqueVisitors: 2, counted: true })
    expect(await view(apps[1] as TestApp, id, 'reader')).toEqual({
      id,
      views: 2,
      uniqueVisitors: 2,
      counted: false,
    })
    await new Promise((resolve) => setTimeout(resolve, 2_300))
    expect(await view(app, id, 'reader')).toEqual({ id, views: 3, uniqueVisitors: 2, counted: true })
  })

  it('ranks only counted views', async () => {
    const id = await createItem()
    await Promise.all(Array.from({ length: 10 }, () => view(apps[0] as TestApp, id, 'same')))
    const ranking = (
      await apps[0]?.http.inject({ method: 'GET', url: '/api/rankings/views?period=day&limit=100' })
    )?.json()
    expect(ranking.items.find((r: { id: number }) => r.id === id)?.views).toBe(1)
  })
})

describe('without COUNTERS_DEDUPE_SECONDS every view counts', () => {
  let app: TestApp
  beforeAll(async () => {
    app = await startTestApp({})
  })
  afterAll(() => app.close())

  it('counts repeated views of one visitor, each answer counted', async () => {
    const created = await app.http.inject({
      method: 'POST',
      url: '/api/items',
      headers: app.auth,
      payload: { kind: 'video', title: 'every view' },
    })
    const { id } = created.json() as { id: number }
    const answers = await Promise.all(
      Array.from({ length: 50 }, () =>
        app.http.inject({ method: 'POST', url: `/api/items/${id}/views`, payload: { visitorId: 'same' } }),
      ),
    )
    expect(answers.every((a) => a.json().counted === true)).toBe(true)
    expect((await app.http.inject({ method: 'GET', url: `/api/items/${id}` })).json().views).toBe(50)
  })
})
