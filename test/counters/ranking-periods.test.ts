import { Cluster } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bucketOf, counterKeys } from '../../src/counters/keys.ts'
import { dayIndex, daysOfMonth, monthIndex, weekIndex } from '../../src/counters/periods.ts'
import { createTrending } from '../../src/counters/trending.ts'
import { dbKinds, startTestApp, type TestApp } from '../support/app.ts'

const DAY_MS = 86_400_000
const isoDay = (day: number) => new Date(day * DAY_MS).toISOString().slice(0, 10)

describe.each(dbKinds)('rankings per kind, past periods, paging, own rank and trending on %s', (db) => {
  let app: TestApp
  // 24 items over all 16 buckets, alternating kinds; item k gets k views today.
  const ids: number[] = []
  beforeAll(async () => {
    app = await startTestApp({ db })
    for (let k = 1; k <= 24; k++) ids.push(await item(k % 2 === 0 ? 'article' : 'video', `item ${k}`))
    await Promise.all(ids.map((id, i) => view(id, i + 1)))
  })
  afterAll(() => app.close())

  async function item(kind: 'article' | 'video', title: string) {
    const res = await app.http.inject({
      method: 'POST',
      url: '/api/items',
      headers: app.auth,
      payload: { kind, title },
    })
    return (res.json() as { id: number }).id
  }
  // Views really run concurrently: the ranking must hold the exact totals.
  const view = (id: number, n: number) =>
    Promise.all(
      Array.from({ length: n }, () => app.http.inject({ method: 'POST', url: `/api/items/${id}/views` })),
    )
  const get = async (url: string) => {
    const res = await app.http.inject({ method: 'GET', url })
    return { status: res.statusCode, body: res.json() }
  }
  /** "Redis lost its data", for this app only: its keys go, other test files' keys on the shared Redis stay. */
  async function wipeOwnKeys() {
    const nodes = app.redis instanceof Cluster ? app.redis.nodes('master') : [app.redis]
    for (const node of nodes) {
      let cursor = '0'
      do {
        const [next, keys] = await node.scan(cursor, 'MATCH', `${app.prefix}:*`, 'COUNT', 1000)
        cursor = next
        for (const key of keys) await node.del(key)
      } while (cursor !== '0')
    }
  }
  /** Views of an earlier day, as the flush of that day left them in SQL. */
  const pastViews = (id: number, day: number, views: number) =>
    app.db.insertInto('item_views_daily').values({ item_id: id, day, views }).execute()

  const expected = (ks: number[]) => ks.map((k) => ({ id: ids[k - 1], title: `item ${k}`, views: k }))

  it('ranks one kind only, across buckets, for every live period', async () => {
    for (const period of ['day', 'week', 'month', 'all']) {
      const articles = await get(`/api/rankings/views?period=${period}&kind=article&limit=4`)
      expect(articles.status).toBe(200)
      expect(articles.body).toEqual({ period, kind: 'article', items: expected([24, 22, 20, 18]) })
      const videos = await get(`/api/rankings/views?period=${period}&kind=video&limit=3`)
      expect(videos.body.items).toEqual(expected([23, 21, 19]))
    }
  })

  it('pages with offset, live and per kind', async () => {
    const page = await get('/api/rankings/views?period=all&limit=5&offset=5')
    expect(page.body).toEqual({ period: 'all', offset: 5, items: expected([19, 18, 17, 16, 15]) })
    const articles = await get('/api/rankings/views?period=day&kind=article&limit=2&offset=3')
    expect(articles.body.items).toEqual(expected([18, 16]))
    const beyond = await get('/api/rankings/views?period=day&limit=10&offset=1000')
    expect(beyond.body.items).toEqual([])
  })

  it("gives an item's own rank, views and the ranking's size; ties share a rank", async () => {
    const top = await get(`/api/items/${ids[23]}/rank?period=day`)
    expect(top.body).toEqual({ id: ids[23], period: 'day', rank: 1, views: 24, of: 24 })
    const tenth = await get(`/api/items/${ids[14]}/rank?period=all`)
    expect(tenth.body).toMatchObject({ rank: 10, views: 15 })
    // Two fresh items with 30 views each: both first, the former first is third.
    const a = await item('video', 'tie a')
    const b = await item('video', 'tie b')
    await Promise.all([view(a, 30), view(b, 30)])
    expect((await get(`/api/items/${a}/rank?period=week`)).body).toMatchObject({ rank: 1, views: 30, of: 26 })
    expect((await get(`/api/items/${b}/rank?period=week`)).body).toMatchObject({ rank: 1, views: 30 })
    expect((await get(`/api/items/${ids[23]}/rank?period=week`)).body).toMatchObject({ rank: 3 })
    const unseen = await item('article', 'never viewed')
    expect((await get(`/api/items/${unseen}/rank?period=day`)).body).toEqual({
      id: unseen,
      period: 'day',
      rank: null,
      views: 0,
      of: 26,
    })
    const missing = await get('/api/items/999999/rank?period=day')
    expect(missing.status).toBe(404)
    expect(missing.body.error.code).toBe('item_not_found')
  })

  it('answers past days, weeks and months from the per-day SQL totals', async () => {
    // 40 days ago is in another week and (always) another month than today.
    const past = dayIndex() - 40
    const [x, y, z] = ids as [number, number, number]
    await pastViews(x, past, 5)
    await pastViews(y, past, 9)
    await pastViews(z, past - 1, 7) // the day before: same week or not, never the same day
    const day = await get(`/api/rankings/views?period=day&date=${isoDay(past)}&limit=10`)
    expect(day.status).toBe(200)
    expect(day.body).toEqual({
      period: 'day',
      date: isoDay(past),
      items: [
        { id: y, title: 'item 2', views: 9 },
        { id: x, title: 'item 1', views: 5 },
      ],
    })
    const articlesOfDay = await get(`/api/rankings/views?period=day&date=${isoDay(past)}&kind=article`)
    expect(articlesOfDay.body.items).toEqual([{ id: y, title: 'item 2', views: 9 }])
    const sameWeek = weekIndex(past - 1) === weekIndex(past)
    const week = await get(`/api/rankings/views?period=week&date=${isoDay(past)}&limit=10`)
    expect(week.body.items.map((i: { id: number }) => i.id)).toEqual(sameWeek ? [y, z, x] : [y, x])
    const sameMonth = monthIndex(past - 1) === monthIndex(past)
    const month = await get(`/api/rankings/views?period=month&date=${isoDay(past)}&limit=1&offset=1`)
    expect(month.body.items).toEqual([
      sameMonth ? { id: z, title: 'item 3', views: 7 } : { id: x, title: 'item 1', views: 5 },
    ])
    const rank = await get(`/api/items/${x}/rank?period=day&date=${isoDay(past)}`)
    expect(rank.body).toEqual({ id: x, period: 'day', rank: 2, views: 5, of: 2 })
    const absent = await get(`/api/items/${z}/rank?period=day&date=${isoDay(past)}`)
    expect(absent.body).toMatchObject({ rank: null, views: 0, of: 2 })
    // Today named by its date is the live ranking.
    const today = await get(`/api/rankings/views?period=day&date=${isoDay(dayIndex())}&limit=1`)
    expect(today.body.items[0].views).toBeGreaterThanOrEqual(24)
  })

  it('keeps a month ranking in Redis with an expiry, and days of a month are right', async () => {
    const keys = counterKeys(app.prefix, bucketOf(ids[0] as number))
    const month = monthIndex(dayIndex())
    expect(Number(await app.redis.zscore(keys.rankMonth(month), String(ids[0])))).toBeGreaterThanOrEqual(1)
    expect(await app.redis.ttl(keys.rankMonth(month))).toBeGreaterThan(31 * 86_400)
    const feb2028 = daysOfMonth((2028 - 1970) * 12 + 1)
    expect(feb2028).toHaveLength(29)
    expect(isoDay(feb2028[0] as number)).toBe('2028-02-01')
  })

  it('ranks trending by views decayed with the half-life, combining old and new views in Redis', async () => {
    const trending = createTrending(6)
    const old = await item('article', 'yesterday news')
    const fresh = await item('article', 'breaking')
    // 400 views 12 h ago (two half-lives: worth 100 now) against 120 views now.
    const keys = counterKeys(app.prefix, bucketOf(old))
    await app.redis.zadd(keys.rankTrending, trending.scoreOf(400, Date.now() - 12 * 3_600_000), old)
    await view(fresh, 120)
    const top = await get('/api/rankings/views?period=trending&kind=article&limit=2')
    expect(top.body.items.map((i: { id: number }) => i.id)).toEqual([fresh, old])
    expect(top.body.items[0].views).toBeCloseTo(120, 0)
    expect(top.body.items[1].views).toBeCloseTo(100, 0)
    // 30 new views of the old item: 100 + 30 = 130 > 120, added onto its log score by the script.
    await view(old, 30)
    const again = await get('/api/rankings/views?period=trending&kind=article&limit=2')
    expect(again.body.items.map((i: { id: number }) => i.id)).toEqual([old, fresh])
    expect(again.body.items[0].views).toBeCloseTo(130, 0)
    const rank = await get(`/api/items/${fresh}/rank?period=trending`)
    expect(rank.body).toMatchObject({ rank: 2 })
    expect(rank.body.views).toBeCloseTo(120, 0)
  })

  it('refuses bad ranking queries with 400 and a clear message', async () => {
    const future = isoDay(dayIndex() + 2)
    for (const [url, words] of [
      ['/api/rankings/views?period=all&date=2026-01-05', 'applies to period day, week or month'],
      ['/api/rankings/views?period=day&date=2026-02-30', 'not a calendar date'],
      [`/api/rankings/views?period=week&date=${future}`, 'in the future'],
      ['/api/rankings/views?period=day&date=26-1-5', 'date'],
      ['/api/rankings/views?period=year', 'period'],
      ['/api/rankings/views?kind=podcast', 'kind'],
      ['/api/rankings/views?offset=1001', 'offset'],
      [`/api/items/${ids[0]}/rank?period=trending&date=2026-01-05`, 'applies to period'],
    ] as const) {
      const res = await get(url)
      expect(res.status, url).toBe(400)
      expect(res.body.error.code, url).toBe('validation_failed')
      expect(res.body.error.message, url).toContain(words)
    }
  })

  it('rebuilds kinds, month and trending rankings from SQL when Redis comes back empty', async () => {
    const month = '/api/rankings/views?period=month&kind=article&limit=5'
    const trendingVideos = '/api/rankings/views?period=trending&kind=video&limit=3'
    const before = (await get(month)).body.items as { id: number; views: number }[]
    const trendingBefore = (await get(trendingVideos)).body.items.map((i: { id: number }) => i.id)
    await app.flusher.flushAll()
    await wipeOwnKeys()
    // The first view after the loss rebuilds Redis from SQL, then counts itself.
    const viewed = before[0]?.id as number
    await view(viewed, 1)
    const after = (await get(month)).body.items
    expect(after).toEqual(before.map((i) => (i.id === viewed ? { ...i, views: i.views + 1 } : i)))
    // Trending is rebuilt from the per-day totals (each day's views at its noon): today's top videos stay the top.
    // As a set: items with equal view counts were ordered by when their views came, which the totals do not keep.
    const trendingAfter = (await get(trendingVideos)).body.items.map((i: { id: number }) => i.id)
    expect(new Set(trendingAfter)).toEqual(new Set(trendingBefore))
  })
})
