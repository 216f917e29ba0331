import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DEMO_BANNERS } from '../../src/banners/seed.ts'
import { dbKinds, startTestApp, type TestApp } from '../support/app.ts'
import { list } from './support.ts'

describe.each(dbKinds)('banners API (%s)', (db) => {
  let app: TestApp
  beforeAll(async () => {
    app = await startTestApp({ db })
  })
  afterAll(() => app.close())

  it('seeds the demo banners on first start and lists them by order, MISS then HIT', async () => {
    const first = await list(app)
    expect(first.statusCode).toBe(200)
    expect(first.headers['x-cache']).toBe('MISS')
    const banners = first.json()
    expect(banners.map((b: { title: string }) => b.title)).toEqual(DEMO_BANNERS.map((b) => b.title))
    expect(Object.keys(banners[0]).sort()).toEqual(['id', 'image', 'link', 'order', 'title'])
    const second = await list(app)
    expect(second.headers['x-cache']).toBe('HIT')
    expect(second.json()).toEqual(banners)
  })

})
