import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { dbKinds, type TestApp } from '../support/app.ts'
import { type BoundQueue, bindQueue, ofType, startEventsApp, until } from './support.ts'

/** Two API processes of one deployment count views of the same items in the same seconds. */
describe.each(dbKinds)('item.viewed across processes (%s)', (db) => {
  let a: TestApp & { exchange: string }
  let b: TestApp & { exchange: string }
  let queue: BoundQueue
  beforeAll(async () => {
    const env = { DOMAIN_EVENTS_VIEWS_SETTLE_MS: '1500' }
    a = await startEventsApp({ db, env })
    b = await startEventsApp({ db, env, sameDeploymentAs: a })
    queue = await bindQueue(inject('amqpUrl'), a.exchange, 'item.viewed')
    await a.start(['api', 'worker'])
    await b.start(['api'])
  })
  afterAll(async () => {
    await b.close()
    await a.close()
    await queue.close()
  })

  it('merges both processes’ views into one event per item and second, exact in total', async () => {
    const ids: number[] = []
    for (const title of ['one', 'two']) {
      const res = await a.http.inject({
        method: 'POST',
        url: '/api/items',
        headers: a.auth,
        payload: { kind: 'article', title },
      })
      ids.push(res.json().id)
    }
    const perItem = 400
    await Promise.all(
      ids.flatMap((id) =>
        Array.from({ length: perItem }, (_, i) =>
          (i % 2 === 0 ? a : b).http.inject({
            method: 'POST',
            url: `/api/items/${id}/views`,
            payload: { visitorId: `v${i}` },
          }),
        ),
      ),
    )
    const viewsOf = (id: number) =>
      ofType(queue.events, 'item.viewed')
        .filter((e) => (e.data as { itemId: number }).itemId === id)
        .reduce((sum, e) => sum + (e.data as { views: number }).views, 0)
    await until(() => ids.every((id) => viewsOf(id) === perItem), 20_000, 'every view in item.viewed')
    const keys = ofType(queue.events, 'item.viewed').map((e) => {
      const data = e.data as { itemId: number; second: string }
      return `${data.itemId}@${data.second}`
    })
    expect(new Set(keys).size).toBe(keys.length) // both processes' parts of a second in one event
    expect(ids.map(viewsOf)).toEqual([perItem, perItem])
  })
})
