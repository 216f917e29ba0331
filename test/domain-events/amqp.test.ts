import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import type { DomainEventsFeature } from '../../src/domain-events/index.ts'
import type { DomainEvent } from '../../src/domain-events/types.ts'
import { ORDER_TASK } from '../../src/seckill/order-task.ts'
import { createSmsStore } from '../../src/sms/store.ts'
import { buy, createProduct, waitForOrders } from '../seckill/support.ts'
import { randomPhone, sendSms, settled } from '../sms/support.ts'
import { dbKinds, type TestApp } from '../support/app.ts'
import { type BoundQueue, bindQueue, expectEnvelope, ofType, startEventsApp, until } from './support.ts'

const types = (events: DomainEvent[]) => [...new Set(events.map((e) => e.type))].sort()

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

  it('routes by pattern: order.* gets orders, #.failed every failure, sms.# every SMS event, # all, once each', async () => {
    const all = queues['#'] as BoundQueue
    // A flash sale of 3 units, 4 buyers: 3 order.created, and the order taking the last unit reports product.sold_out.
    const productId = await createProduct(app, { stock: 3 })
    const answers = await Promise.all(['u1', 'u2', 'u3', 'u4'].map((user) => buy(app, productId, user)))
    expect(answers.map((a) => a.statusCode).sort()).toEqual([202, 202, 202, 409])
    await waitForOrders(app, productId, 3)
    // An order task for a product that does not exist gives up for good: order.failed.
    await app.tasks.producer.send(ORDER_TASK, [], {
      productId: 987_654,
      userId: 'ghost',
      admissionId: 'admission-ghost',
      admittedAt: Date.now(),
    })
    // An SMS sent (outbox provider), then a gateway's receipt says one part was lost: sms.failed (undelivered).
    const sent = await sendSms(app, { phone: randomPhone(), content: 'hello' })
    expect(sent.statusCode).toBe(202)
    const smsId = sent.json().id as string
    await settled(app, smsId)
    const domainEvents = app.features.find((f) => f.name === 'domain-events') as DomainEventsFeature
    const store = createSmsStore(app.db, domainEvents.events)
    await store.recordPart(smsId, 1, 'ihuyi', `m-${smsId}`)
    await store.applyReceipt({ gateway: 'ihuyi', messageId: `m-${smsId}`, delivered: false, error: 'absent' })
    const banner = await app.http.inject({
      method: 'POST',
      url: '/api/banners',
      headers: app.auth,
      payload: { title: 'sale', image: 'https://example.com/a.png' },
    })
    expect(banner.statusCode).toBe(201)

    const bySms = (e: DomainEvent) => (e.data as { smsId?: string }).smsId === smsId
    await until(
      () =>
        ofType(all.events, 'order.created').length === 3 &&
        ofType(all.events, 'order.failed').length === 1 &&
        ofType(all.events, 'product.sold_out').length === 1 &&
        all.events.filter(bySms).length === 3 &&
        ofType(all.events, 'banner.changed').some(
          (e) => (e.data as { bannerId: number }).bannerId === banner.json().id,
        ),
      20_000,
      'every event on #',
    )
    const orders = (queues['order.*'] as BoundQueue).events
    const failed = (queues['#.failed'] as BoundQueue).events
    const sms = (queues['sms.#'] as BoundQueue).events
    await until(
      () => orders.length === 4 && failed.length === 2 && sms.length === 3,
      10_000,
      'pattern queues',
    )
    expect(types(orders)).toEqual(['order.created', 'order.failed'])
    expect(types(failed)).toEqual(['order.failed', 'sms.failed'])
    expect(types(sms)).toEqual(['sms.accepted', 'sms.failed', 'sms.sent'])
    for (const event of all.events) expectEnvelope(event)
    expect(new Set(all.events.map((e) => e.id)).size).toBe(all.events.length)

    const [soldOut] = ofType(all.events, 'product.sold_out')
    expect(soldOut?.data).toEqual({ productId, stock: 3 })
    expect(ofType(orders, 'order.created').map((e) => (e.data as { productId: number }).productId)).toEqual([
      productId,
      productId,
      productId,
    ])
    expect(ofType(failed, 'order.failed')[0]?.data).toEqual({
      productId: 987_654,
      userId: 'ghost',
      admissionId: 'admission-ghost',
      reason: 'product 987654 does not exist',
    })
    const accepted = ofType(sms, 'sms.accepted')[0]?.data as { phone: string; segments: number }
    // Masked as the API shows it (the 202's phone), never the number, nor the sealed value's '****'.
    expect(accepted.phone).toBe(sent.json().phone)
    expect(accepted.phone).toMatch(/^\+86\d{3}\*+\d{4}$/)
    expect(accepted.segments).toBe(1)
    expect(ofType(sms, 'sms.sent')[0]?.data).toEqual({ smsId, gateway: 'outbox' })
    expect(ofType(failed, 'sms.failed')[0]?.data).toEqual({ smsId, status: 'undelivered', error: 'absent' })
  })
})
