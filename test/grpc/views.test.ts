import { status } from '@grpc/grpc-js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { TestApp } from '../support/app.ts'
import { client, exchange, startGrpcApp } from './support.ts'

type Event = { item_id: string; visitor_id?: string }
type Ack = { item_id: string; views: string; unique_visitors: string }

describe('hotspot.v1.Views/Record', () => {
  let app: TestApp & { address: string }
  let views: ReturnType<typeof client>
  const record = (events: Event[]) => exchange<Event, Ack>(views.stream('Record'), events)

  async function createItem(title: string): Promise<string> {
    const res = await app.http.inject({
      method: 'POST',
      url: '/api/items',
      headers: app.auth,
      payload: { kind: 'article', title },
    })
    expect(res.statusCode).toBe(201)
    return String(res.json().id)
  }
  const httpItem = async (id: string) =>
    (await app.http.inject({ method: 'GET', url: `/api/items/${id}` })).json() as {
      views: number
      uniqueVisitors: number
    }

  beforeAll(async () => {
    app = await startGrpcApp()
    views = client(app.address, 'hotspot.v1.Views')
  })
  afterAll(async () => {
    views.close()
    await app.close()
  })

  it('acks every event in order with the count including it, like POST /api/items/:id/views', async () => {
    const a = await createItem('a')
    const b = await createItem('b')
    const events = [a, b, a, a, b].map((item_id, i) => ({ item_id, visitor_id: `v${i % 2}` }))
    const { replies, code } = await record(events)
    expect(code).toBe(status.OK)
    expect(replies.map((r) => [r.item_id, r.views])).toEqual([
      [a, '1'],
      [b, '1'],
      [a, '2'],
      [a, '3'],
      [b, '2'],
    ])
    const http = await app.http.inject({
      method: 'POST',
      url: `/api/items/${a}/views`,
      payload: { visitorId: 'v0' },
    })
    expect(http.json().views).toBe(4) // one counter behind both doors
  })

  it('counts exactly under 20 concurrent streams: the total is the sum sent and matches GET /api/items/:id', async () => {
    const items = [await createItem('hot 1'), await createItem('hot 2')]
    const streams = Array.from({ length: 20 }, (_, s) =>
      Array.from({ length: 100 + s * 5 }, (_, i) => ({
        item_id: items[(s + i) % 2] as string,
        visitor_id: `visitor-${s}`,
      })),
    )
    const results = await Promise.all(streams.map(record))
    for (const [s, result] of results.entries()) {
      expect(result.code).toBe(status.OK)
      expect(result.replies.length).toBe(streams[s]?.length)
    }
    for (const item of items) {
      const sent = streams.flat().filter((e) => e.item_id === item).length
      const acks = results.flatMap((r) => r.replies).filter((r) => r.item_id === item)
      // Every ack holds the count including its own view: together they are exactly 1..sent.
      expect(new Set(acks.map((r) => r.views)).size).toBe(sent)
      expect(Math.max(...acks.map((r) => Number(r.views)))).toBe(sent)
      const http = await httpItem(item)
      expect(http.views).toBe(sent)
      expect(http.uniqueVisitors).toBe(20)
    }
  })

  it('an unknown item ends the stream with NOT_FOUND after the acks before it; nothing after it counts', async () => {
    const known = await createItem('known')
    const { replies, code, details } = await record([
      { item_id: known },
      { item_id: known },
      { item_id: '999999999' },
      { item_id: known },
      { item_id: known },
    ])
    expect(replies.map((r) => r.views)).toEqual(['1', '2'])
    expect(code).toBe(status.NOT_FOUND)
    expect(details).toMatch(/999999999/)
    expect((await httpItem(known)).views).toBe(2)
  })

  it('a bad item_id or visitor_id is INVALID_ARGUMENT naming the field, after the acks before it', async () => {
    const item = await createItem('validated')
    for (const [bad, field] of [
      [{ item_id: 'abc' }, 'item_id'],
      [{ item_id: '0' }, 'item_id'],
      [{ item_id: '' }, 'item_id'],
      [{ item_id: '99999999999999999999' }, 'item_id'],
      [{ item_id: item, visitor_id: 'x'.repeat(129) }, 'visitor_id'],
    ] as const) {
      const { replies, code, details } = await record([{ item_id: item }, bad, { item_id: item }])
      expect(replies.length).toBe(1)
      expect(code).toBe(status.INVALID_ARGUMENT)
      expect(details).toMatch(new RegExp(`^${field}: `))
    }
    expect((await httpItem(item)).views).toBe(5) // one per stream: nothing after the bad event
  })

  it('an empty visitor_id counts the client address as the visitor', async () => {
    const item = await createItem('anonymous')
    const { replies } = await record([{ item_id: item }, { item_id: item }, { item_id: item }])
    expect(replies.map((r) => r.unique_visitors)).toEqual(['1', '1', '1'])
  })

  it('an empty stream ends with OK and no acks', async () => {
    const { replies, code } = await record([])
    expect(code).toBe(status.OK)
    expect(replies).toEqual([])
  })
})
