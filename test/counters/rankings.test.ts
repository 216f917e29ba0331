import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bucketOf, counterKeys } from '../../src/counters/keys.ts'
import { dayIndex, weekIndex } from '../../src/counters/periods.ts'
import { dbKinds, startTestApp, type TestApp } from '../support/app.ts'

describe.each(dbKinds)('rankings on %s', (db) => {
  let app: TestApp
  beforeAll(async () => {
    app = await startTestApp({ db })
  })
  afterAll(() => app.close())

  async function item(title: string) {
    const res = await app.http.inject({
      method: 'POST',
      url: '/api/items',
      headers: app.auth,
      payload: { kind: 'video', title },
    })
    return (res.json() as { id: number }).id
  }
  const view = (id: number, n: number) =>
    Promise.all(
      Array.from({ length: n }, () => app.http.inject({ method: 'POST', url: `/api/items/${id}/views` })),
    )

  it('orders items by views across buckets, most viewed first, with titles', async () => {
    // 20 items spread over all 16 buckets, item k gets k views: the merge across buckets must be exact.
    const ids: number[] = []
    for (let k = 1; k <= 20; k++) ids.push(await item(`item ${k}`))
    for (const [k, id] of ids.entries()) await view(id, k + 1)
    for (const period of ['day', 'week', 'all'] as const) {
      const res = await app.http.inject({
        method: 'GET',
        url: `/api/rankings/views?period=${period}&limit=5`,
      })
      expect(res.statusCode).toBe(200)
      expect(res.json()).toEqual({
        period,
        items: [20, 19, 18, 17, 16].map((k) => ({ id: ids[k - 1], title: `item ${k}`, views: k })),
      })
    }
  })

  it('the same ranking asked many times at once is read from Redis once per turn, never older than the ask', async () => {
    const zrevranges = async () =>
      Number(/cmdstat_zrevrange:calls=(\d+)/.exec(await app.redis.info('commandstats'))?.[1] ?? 0)
    const a = await item('asked by many')
    await view(a, 500)
    const before = await zrevranges()
    const answers = await Promise.all(
      Array.from({ length: 40 }, () =>
        app.http.inject({ method: 'GET', url: '/api/rankings/views?period=all&limit=1' }),
      ),
    )
    const calls = (await zrevranges()) - before
    for (const res of answers)
      expect(res.json().items).toEqual([{ id: a, title: 'asked by many', views: 500 }])
    expect(calls).toBeLessThan(16 * 10) // one read is 16 (a bucket each); 40 reads were 640
    // A view acknowledged before the ask is in the answer: no read that left earlier serves it.
    await view(a, 1)
    const after = await app.http.inject({ method: 'GET', url: '/api/rankings/views?period=all&limit=1' })
    expect(after.json().items[0]).toMatchObject({ id: a, views: 501 })
  })

  it('keeps periods apart: views of other days count for all-time and their own week only', async () => {
    const a = await item('old news')
    const b = await item('fresh news')
    await view(b, 2)
    // Pretend item a was viewed 50 times on a day of another week (as the flush of that day left it).
    const keys = counterKeys(app.prefix, bucketOf(a))
    const longAgo = dayIndex() - 30
    await app.redis.zincrby(keys.rankAll, 50, a)
    await app.redis.zincrby(keys.rankDay(longAgo), 50, a)
    await app.redis.zincrby(keys.rankWeek(weekIndex(longAgo)), 50, a)
    const top = async (period: string) =>
      (await app.http.inject({ method: 'GET', url: `/api/rankings/views?period=${period}&limit=100` }))
        .json()
        .items.map((i: { id: number }) => i.id)
    expect(await top('all')).toContain(a)
    expect(await top('day')).not.toContain(a)
    expect(await top('week')).not.toContain(a)
    expect(await top('day')).toContain(b)
  })

  it('sets an expiry on day and week ranking keys but not on all-time', async () => {
    const id = await item('expiring')
    await view(id, 1)
    const keys = counterKeys(app.prefix, bucketOf(id))
    const day = dayIndex()
    expect(await app.redis.ttl(keys.rankDay(day))).toBeGreaterThan(86_400)
    expect(await app.redis.ttl(keys.rankWeek(weekIndex(day)))).toBeGreaterThan(7 * 86_400)
    expect(await app.redis.ttl(keys.rankAll)).toBe(-1)
  })
})
