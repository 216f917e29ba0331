import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type RunningServer, startRabbitMQ } from '../../src/infra/local-servers.ts'
import type { TestApp } from '../support/app.ts'
import { type BoundQueue, bindQueue, ofType, sleep, startEventsApp, until } from './support.ts'

const outboxDepth = async (app: TestApp) => {
  const res = await app.http.inject({ method: 'GET', url: '/metrics' })
  const line = res.body
    .split('\n')
    .find((l) => l.startsWith('hotspot_domain_events_outbox_depth{state="pending"}'))
  return Number(line?.split(' ').at(-1))
}

/**
 * Its own RabbitMQ, stopped while facts keep being committed and started again on the same port and data
 * directory: every fact's event arrives, under one id per fact (duplicates of an id are allowed and deduped).
 */
describe('domain events across a RabbitMQ restart', () => {
  let dir: string
  let broker: RunningServer
  let app: TestApp & { exchange: string }
  let queue: BoundQueue

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hotspot-domain-broker-'))
    broker = await startRabbitMQ({ dir })
    app = await startEventsApp({ amqpUrl: broker.url })
    queue = await bindQueue(broker.url, app.exchange, 'item.#')
    await app.start(['api', 'worker'])
  }, 120_000)
  afterAll(async () => {
    await app?.close()
    await queue?.close().catch(() => {})
    await broker?.stop()
    fs.rmSync(dir, { recursive: true, force: true })
  })

  it('no event lost, none doubled in effect: every item once by id, the outbox drained again', async () => {
    const created: number[] = []
    let stop = false
    const writer = (async () => {
      while (!stop) {
        const res = await app.http.inject({
          method: 'POST',
          url: '/api/items',
          headers: app.auth,
          payload: { kind: 'video', title: `clip ${created.length}` },
        })
        expect(res.statusCode).toBe(201) // facts commit whatever the broker does
        created.push(res.json().id)
        await sleep(5)
      }
    })()
    await until(() => ofType(queue.events, 'item.created').length >= 30, 30_000, 'events before the outage')
    await broker.stop()
    const during = created.length
    await until(() => created.length >= during + 50, 30_000, 'items created during the outage')
    expect(await outboxDepth(app)).toBeGreaterThan(0) // they wait in SQL
    broker = await startRabbitMQ({ dir, port: Number(new URL(broker.url).port) })
    await sleep(1000)
    stop = true
    await writer

    const received = () => ofType(queue.events, 'item.created')
    const itemsSeen = () => new Set(received().map((e) => (e.data as { itemId: number }).itemId))
    await until(() => itemsSeen().size === created.length, 90_000, 'every item.created after the restart')
    // One id per fact: deduping by id leaves exactly one event per item.
    const idsPerItem = new Map<number, Set<string>>()
    for (const event of received()) {
      const itemId = (event.data as { itemId: number }).itemId
      idsPerItem.set(itemId, (idsPerItem.get(itemId) ?? new Set()).add(event.id))
    }
    expect([...idsPerItem.keys()].sort((a, b) => a - b)).toEqual([...created].sort((a, b) => a - b))
    expect([...idsPerItem.values()].every((ids) => ids.size === 1)).toBe(true)
    await until(async () => (await outboxDepth(app)) === 0, 30_000, 'an empty outbox')
    const published = await app.http.inject({ method: 'GET', url: '/metrics' })
    expect(published.body).toMatch(/hotspot_domain_events_published_total\{type="item.created"\} \d+/)
  }, 240_000)
})
