/**
 * hotspot_tasks_sent_total counts every task message the producer sends, whichever way: a call (`send`) and
 * what the worker sends itself through `sendEncoded` (retries, chain steps, callbacks), each exactly once.
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
})
