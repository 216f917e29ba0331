import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { dbKinds, type TestApp } from '../support/app.ts'
import { type BoundQueue, bindQueue, expectEnvelope, ofType, startEventsApp, until } from './support.ts'

describe.each(dbKinds)('domain events on RabbitMQ (%s)', (db) => {
  let app: TestApp & { exchange: string }
  const queues: Record<string, BoundQueue> = {}
  beforeAll(async () => {
    app = await startEventsApp({ db })
    for (const pattern of ['item.*', '#', 'order.*', '#.failed', 'sms.#'])
      queues[pattern] = await bindQueue(inject('amqpUrl'), app.exchange, pattern)
    await app.start(['api', 'worker'])
  })
  afterAll(async () => {
    await app.close()
    for (const queue of Object.values(queues)) await queue.close()
  })

  async function createItem(title: string) {
    const res = await app.http.inject({
      method: 'POST',
      url: '/api/items',
      headers: app.auth,
      payload: { kind: 'article', title },
    })
    expect(res.statusCode).toBe(201)
    return res.json() as { id: number }
  }

  it('item.created goes out once per item, after its INSERT committed', async () => {
    const { id } = await createItem('first')
    const items = queues['item.*'] as BoundQueue
    await until(() => ofType(items.events, 'item.created').length === 1)
    const [event] = ofType(items.events, 'item.created')
    expectEnvelope(event as never)
    expect(event?.data).toEqual({ itemId: id, kind: 'article', title: 'first' })
    expect(ofType((queues['order.*'] as BoundQueue).events, 'item.created')).toHaveLength(0)
  })

  it('item.viewed is aggregated per item and second: the views add up exactly, far fewer events than views', async () => {
    const { id } = await createItem('viewed')
    const views = 600
    await Promise.all(
      Array.from({ length: views }, (_, i) =>
        app.http.inject({ method: 'POST', url: `/api/items/${id}/views`, payload: { visitorId: `v${i}` } }),
      ),
    )
    const all = queues['#'] as BoundQueue
    const viewed = () =>
      ofType(all.events, 'item.viewed').filter((e) => (e.data as { itemId: number }).itemId === id)
    const total = () => viewed().reduce((sum, e) => sum + (e.data as { views: number }).views, 0)
    await until(() => total() >= views, 20_000, 'item.viewed events')
    expect(total()).toBe(views)
    const seconds = viewed().map((e) => (e.data as { second: string }).second)
    expect(new Set(seconds).size).toBe(seconds.length) // one event per item and second
    expect(viewed().length).toBeLessThan(views / 10)
  })
})
