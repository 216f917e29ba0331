import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { DomainEvent } from '../../src/domain-events/types.ts'
import { randomPhone, sendSms, settled } from '../sms/support.ts'
import { onCluster, type TestApp } from '../support/app.ts'
import { startPrivateRedis } from '../tasks/support/private-redis.ts'
import { expectEnvelope, startEventsApp, until } from './support.ts'

/** BROKER_URL=redis:// and no RabbitMQ: the same events, on one Redis stream per routing-key prefix. */
describe.skipIf(onCluster)('domain events on a Redis-only deployment', () => {
  let broker: Awaited<ReturnType<typeof startPrivateRedis>>
  let app: TestApp & { exchange: string }
  let reader: Redis

  beforeAll(async () => {
    broker = await startPrivateRedis()
    app = await startEventsApp({
      redisBrokerUrl: broker.url,
      env: { DOMAIN_EVENTS_STREAM_MAXLEN: '100', DOMAIN_EVENTS_MAX_ATTEMPTS: '3' },
    })
    reader = new Redis(broker.url, { commandTimeout: 5000 })
    await app.start(['api', 'worker'])
  })
  afterAll(async () => {
    await app?.close()
    reader?.disconnect()
    await broker?.stop()
  })

  const stream = async (name: string): Promise<DomainEvent[]> => {
    const entries = await reader.xrange(`${app.exchange}.${name}`, '-', '+')
    return entries.map(([, fields]) => {
      const at = (field: string) => fields[fields.indexOf(field) + 1] as string
      const event = JSON.parse(at('event')) as DomainEvent
      expect(at('type')).toBe(event.type)
      expect(at('id')).toBe(event.id)
      return event
    })
  }

  it('item and SMS events land on their prefix stream, in the same JSON as on RabbitMQ', async () => {
    expect(app.amqp).toBeUndefined()
    const item = await app.http.inject({
      method: 'POST',
      url: '/api/items',
      headers: app.auth,
      payload: { kind: 'article', title: 'on redis' },
    })
    const itemId = item.json().id as number
    for (let i = 0; i < 20; i++)
      await app.http.inject({
        method: 'POST',
        url: `/api/items/${itemId}/views`,
        payload: { visitorId: `v${i}` },
      })
    const sms = await sendSms(app, { phone: randomPhone(), content: 'hi' })
    expect(sms.statusCode).toBe(202)
    await settled(app, sms.json().id)

    const views = (events: DomainEvent[]) =>
      events
        .filter((e) => e.type === 'item.viewed')
        .reduce((n, e) => n + (e.data as { views: number }).views, 0)
    await until(async () => views(await stream('item')) === 20, 20_000, 'item.viewed on the item stream')
    await until(async () => (await stream('sms')).length === 2, 20_000, 'sms.accepted and sms.sent')
    const items = await stream('item')
    expect(items[0]?.type).toBe('item.created')
    expect(items[0]?.data).toEqual({ itemId, kind: 'article', title: 'on redis' })
    expect((await stream('sms')).map((e) => e.type)).toEqual(['sms.accepted', 'sms.sent'])
    for (const event of [...items, ...(await stream('sms'))]) expectEnvelope(event)
    expect(await stream('order')).toEqual([])
  })

  it('each stream stays capped near DOMAIN_EVENTS_STREAM_MAXLEN (XADD MAXLEN ~)', async () => {
    for (let i = 0; i < 400; i++)
      await app.http.inject({
        method: 'POST',
        url: '/api/items',
        headers: app.auth,
        payload: { kind: 'video', title: `t${i}` },
      })
    await until(
      async () => (await stream('item')).some((e) => (e.data as { title?: string }).title === 't399'),
      30_000,
      'the last item.created',
    )
    // MAXLEN ~ trims whole radix-tree nodes (100 entries by default): the stream holds between 100 and 200 entries.
    const length = await reader.xlen(`${app.exchange}.item`)
    expect(length).toBeGreaterThanOrEqual(100)
    expect(length).toBeLessThan(300)
  })

  it('an event the broker keeps refusing is parked after DOMAIN_EVENTS_MAX_ATTEMPTS, and blocks no other', async () => {
    // A key of the wrong type where the banner stream should be: every XADD there fails, the others go through.
    await reader.del(`${app.exchange}.banner`)
    await reader.set(`${app.exchange}.banner`, 'not a stream')
    const banner = await app.http.inject({
      method: 'POST',
      url: '/api/banners',
      headers: app.auth,
      payload: { title: 'refused', image: 'https://example.com/r.png' },
    })
    expect(banner.statusCode).toBe(201) // the fact commits whatever the broker does
    const item = await app.http.inject({
      method: 'POST',
      url: '/api/items',
      headers: app.auth,
      payload: { kind: 'article', title: 'after the refusal' },
    })
    const itemId = item.json().id as number
    await until(
      async () => (await stream('item')).some((e) => (e.data as { itemId?: number }).itemId === itemId),
      20_000,
      'the item event past the refused one',
    )
    const depth = async (state: string) => {
      const res = await app.http.inject({ method: 'GET', url: '/metrics' })
      const line = res.body
        .split('\n')
        .find((l) => l.startsWith(`hotspot_domain_events_outbox_depth{state="${state}"}`))
      return Number(line?.split(' ').at(-1))
    }
    await until(async () => (await depth('parked')) === 1, 20_000, 'the refused event parked')
    const row = await app.db
      .selectFrom('domain_event_outbox')
      .select(['type', 'attempts', 'last_error', 'parked_at'])
      .executeTakeFirstOrThrow()
    expect(row).toMatchObject({ type: 'banner.changed', attempts: 3 })
    expect(row.last_error).toMatch(/WRONGTYPE/)
    expect(await depth('pending')).toBe(0)
  })
})
