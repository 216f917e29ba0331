import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { LIST_KEY } from '../../src/banners/keys.ts'
import { DEMO_BANNERS } from '../../src/banners/seed.ts'
import { dbKinds, startTestApp, type TestApp } from '../support/app.ts'
import { bannerQueries, bannersOf, createBanner, list, sleep } from './support.ts'

describe.each(dbKinds)('banners API (%s)', (db) => {
  let app: TestApp
  beforeAll(async () => {
    app = await startTestApp({ db })
  })
  afterAll(() => app.close())

  const titles = async () => (await list(app)).json().map((b: { title: string }) => b.title)

  it('seeds the demo banners on first start and lists them by order: MISS, then HIT', async () => {
    const first = await list(app)
    expect(first.statusCode).toBe(200)
    expect(first.headers['x-cache']).toBe('MISS')
    expect(first.headers['content-type']).toBe('application/json; charset=utf-8')
    const banners = first.json()
    expect(banners.map((b: { title: string }) => b.title)).toEqual(DEMO_BANNERS.map((b) => b.title))
    expect(Object.keys(banners[0]).sort()).toEqual(['id', 'image', 'link', 'order', 'title'])
    expect(banners.map((b: { order: number }) => b.order)).toEqual([1, 2, 3])
    const second = await list(app)
    expect(second.headers['x-cache']).toBe('HIT')
    expect(second.json()).toEqual(banners)
  })

  it('answers 500 concurrent GETs on a cold cache with exactly one SQL query', async () => {
    await bannersOf(app).cache.invalidate([LIST_KEY])
    app.queries.length = 0
    const answers = await Promise.all(Array.from({ length: 500 }, () => list(app)))
    expect(answers.filter((r) => r.statusCode === 200)).toHaveLength(500)
    expect(new Set(answers.map((r) => r.body)).size).toBe(1)
    expect(answers.filter((r) => r.headers['x-cache'] === 'MISS')).toHaveLength(500)
    expect(bannerQueries(app)).toHaveLength(1)
    expect((await list(app)).headers['x-cache']).toBe('HIT')
    expect(bannerQueries(app)).toHaveLength(1)
  })

  it('admin writes go to SQL and the next GET reflects them: create, reorder, hide, delete', async () => {
    const created = await createBanner(app, {
      title: 'Spring sale',
      image: 'https://cdn.example.com/spring.png',
      link: 'https://example.com/spring',
      order: 0,
    })
    expect(created).toMatchObject({
      title: 'Spring sale',
      image: 'https://cdn.example.com/spring.png',
      link: 'https://example.com/spring',
      order: 0,
      shown: true,
    })
    const res = await list(app)
    expect(res.headers['x-cache']).toBe('MISS')
    expect(res.json()[0]).toEqual({
      id: created.id,
      title: 'Spring sale',
      image: 'https://cdn.example.com/spring.png',
      link: 'https://example.com/spring',
      order: 0,
    })

    const put = (payload: Record<string, unknown>) =>
      app.http.inject({ method: 'PUT', url: `/api/banners/${created.id}`, headers: app.auth, payload })
    const moved = await put({ order: 10, title: 'Spring sale (last days)' })
    expect(moved.statusCode).toBe(200)
    expect(moved.json()).toMatchObject({ id: created.id, order: 10, title: 'Spring sale (last days)' })
    expect((await titles()).at(-1)).toBe('Spring sale (last days)')

    expect((await put({ shown: false })).json().shown).toBe(false)
    expect(await titles()).not.toContain('Spring sale (last days)')
    const all = await app.http.inject({ method: 'GET', url: '/api/banners/all', headers: app.auth })
    expect(all.json().banners).toContainEqual(expect.objectContaining({ id: created.id, shown: false }))

    expect((await put({ shown: true })).statusCode).toBe(200)
    expect(await titles()).toContain('Spring sale (last days)')
    const deleted = await app.http.inject({
      method: 'DELETE',
      url: `/api/banners/${created.id}`,
      headers: app.auth,
    })
    expect(deleted.statusCode).toBe(204)
    expect(await titles()).toEqual(DEMO_BANNERS.map((b) => b.title))
  })

  it('rejects bad input with a 4xx naming the problem, and changes nothing (not even the cache)', async () => {
    await list(app)
    const before = await list(app)
    expect(before.headers['x-cache']).toBe('HIT')
    app.queries.length = 0
    const image = '/banners/ok.png'
    const cases: [string, string, unknown, number, string, string?][] = [
      ['POST', '/api/banners', { image }, 400, 'validation_failed', 'body.title'],
      ['POST', '/api/banners', { title: '   ', image }, 400, 'validation_failed', 'body.title'],
      ['POST', '/api/banners', { title: 'x'.repeat(201), image }, 400, 'validation_failed', 'body.title'],
      ['POST', '/api/banners', { title: 'x' }, 400, 'validation_failed', 'body.image'],
      [
        'POST',
        '/api/banners',
        { title: 'x', image: 'javascript:alert(1)' },
        400,
        'validation_failed',
        'body.image',
      ],
      [
        'POST',
        '/api/banners',
        { title: 'x', image: '//evil.example/x.png' },
        400,
        'validation_failed',
        'body.image',
      ],
      ['POST', '/api/banners', { title: 'x', image: 'not a url' }, 400, 'validation_failed', 'body.image'],
      [
        'POST',
        '/api/banners',
        { title: 'x', image, link: 'ftp://x/y' },
        400,
        'validation_failed',
        'body.link',
      ],
      ['POST', '/api/banners', { title: 'x', image, order: 1.5 }, 400, 'validation_failed', 'body.order'],
      ['POST', '/api/banners', { title: 'x', image, colour: 'red' }, 400, 'validation_failed'],
      ['PUT', '/api/banners/1', {}, 400, 'validation_failed'],
      ['PUT', '/api/banners/1', { image: 'data:text/html,hi' }, 400, 'validation_failed', 'body.image'],
      ['PUT', '/api/banners/abc', { title: 'x' }, 400, 'validation_failed', 'params.id'],
      ['PUT', '/api/banners/999999', { title: 'x' }, 404, 'banner_not_found'],
      ['DELETE', '/api/banners/999999', undefined, 404, 'banner_not_found'],
    ]
    for (const [method, url, payload, status, code, field] of cases) {
      const res = await app.http.inject({
        method: method as 'POST',
        url,
        headers: app.auth,
        ...(payload === undefined ? {} : { payload: payload as object }),
      })
      expect({ method, url, payload, status: res.statusCode, code: res.json().error?.code }).toEqual({
        method,
        url,
        payload,
        status,
        code,
      })
      if (field) expect(res.json().error.field).toBe(field)
    }
    const noToken = await app.http.inject({
      method: 'POST',
      url: '/api/banners',
      payload: { title: 'x', image },
    })
    expect(noToken.statusCode).toBe(401)
    expect(noToken.json().error.code).toBe('unauthorized')
    const badJson = await app.http.inject({
      method: 'POST',
      url: '/api/banners',
      headers: { ...app.auth, 'content-type': 'application/json' },
      payload: '{"title":',
    })
    expect(badJson.json().error.code).toBe('invalid_json')

    const after = await list(app)
    expect(after.headers['x-cache']).toBe('HIT')
    expect(after.body).toBe(before.body)
    expect(bannerQueries(app).filter((sql) => /^\s*(insert|update|delete)/i.test(sql))).toEqual([])
  })
})

describe.each(dbKinds)('banners X-Cache over time (%s)', (db) => {
  let app: TestApp
  beforeAll(async () => {
    app = await startTestApp({ db, env: { BANNERS_CACHE_TTL_MS: '500', BANNERS_CACHE_GRACE_MS: '1000' } })
  })
  afterAll(() => app.close())

  it('goes MISS, HIT, STALE past the TTL (one refresh), HIT, then MISS past the grace', async () => {
    const status = async () => (await list(app)).headers['x-cache']
    expect(await status()).toBe('MISS')
    expect(await status()).toBe('HIT')
    await sleep(600)
    app.queries.length = 0
    const stale = await Promise.all(Array.from({ length: 20 }, () => list(app)))
    expect(stale.map((r) => r.headers['x-cache'])).toEqual(Array(20).fill('STALE'))
    await vi.waitFor(async () => expect(await status()).toBe('HIT'))
    expect(bannerQueries(app)).toHaveLength(1) // 20 stale answers, one refresh
    await sleep(1600)
    expect(await status()).toBe('MISS')
  })
})
