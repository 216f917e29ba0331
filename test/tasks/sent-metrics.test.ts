/**
 * hotspot_tasks_sent_total counts every task message the producer sends, whichever way: a call (`send`) and
 * what the worker sends itself through `sendEncoded` (retries, chain steps, callbacks), each exactly once.
 * The per-task counters count in memory until read: a scrape shows every count once, a later one the new total.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestApp, type TestApp } from '../support/app.ts'

describe('tasks sent metric', () => {
  let app: TestApp
  beforeAll(async () => {
    app = await startTestApp()
  })
  afterAll(() => app.close())

  const sent = async (task: string) => {
    const metric = await app.metrics.registry.getSingleMetric('hotspot_tasks_sent_total')?.get()
    return metric?.values.find((v) => v.labels.task === task)?.value ?? 0
  }

  it('counts each send and each re-send (retry, chain step) once, sent concurrently', async () => {
    const queue = app.config.tasks.ownQueue
    await Promise.all([
      ...Array.from({ length: 30 }, () => app.tasks.producer.send('test.counted', [], {}, { queue })),
      ...Array.from({ length: 20 }, () =>
        app.tasks.producer.sendEncoded({ name: 'test.counted', args: [], kwargs: {}, queue }),
      ),
    ])
    expect(await sent('test.counted')).toBe(50)
  })

  it("shows the worker's received and succeeded counts in /metrics, each once, across two scrapes", async () => {
    const queue = app.config.tasks.ownQueue
    let ran = 0
    app.tasks.registry.register('test.scraped', () => {
      ran++
    })
    await app.start(['worker'])
    const count = async (metric: string) => {
      const res = await app.http.inject({ method: 'GET', url: '/metrics' })
      const line = res.body.split('\n').find((l) => l.startsWith(`${metric}{task="test.scraped"}`))
      return Number(line?.split(' ').pop() ?? 0)
    }
    const runAll = async (n: number) => {
      const ids = await Promise.all(
        Array.from({ length: n }, () => app.tasks.producer.send('test.scraped', [], {}, { queue })),
      )
      await Promise.all(ids.map((id) => app.tasks.results.wait(id, 10_000)))
    }
    // The worker counts a success just after storing it, so a waiter may see the result a moment before.
    await runAll(25)
    await expect.poll(() => count('hotspot_tasks_succeeded_total')).toBe(25)
    expect(await count('hotspot_tasks_received_total')).toBe(25)
    await runAll(15)
    await expect.poll(() => count('hotspot_tasks_succeeded_total')).toBe(40)
    expect(await count('hotspot_tasks_received_total')).toBe(40)
    expect(await count('hotspot_tasks_sent_total')).toBe(40)
    expect(ran).toBe(40)
  })
})
