import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  CanvasError,
  type ChainCanvas,
  chain,
  chord,
  group,
  MAX_CANVAS_DEPTH,
  signature,
  toCelery,
} from '../../src/tasks/canvas/build.ts'
import { groupKey } from '../../src/tasks/canvas/chord.ts'
import { startTestApp, type TestApp } from '../support/app.ts'

describe('canvas on hotspot workers (real RabbitMQ and Redis)', () => {
  let app: TestApp
  const q = () => ({ queue: app.config.tasks.defaultQueue })
  const add = (...args: number[]) => signature('hotspot.add', args, {}, q())

  beforeAll(async () => {
    app = await startTestApp({ env: { WORKER_CONCURRENCY: '8' } })
    await app.start(['worker'])
  })
  afterAll(() => app.close())

  it('a broker failure while sending the next chain step (after the handler ran) does not lose the step', async () => {
    // Before: SUCCESS was stored first, so the redelivered message was taken as done and the step was lost.
    const producer = app.tasks.producer
    const sendEncoded = producer.sendEncoded
    let failed = 0
    producer.sendEncoded = async (opts) => {
      if (opts.args?.[1] === 10 && failed === 0) {
        failed++
        throw Object.assign(new Error('connection reset while publishing'), { code: 'ECONNRESET' })
      }
      return sendEncoded(opts)
    }
    try {
      const sent = await app.tasks.sendCanvas(chain(add(1, 2), add(10), add(100)))
      expect(await app.tasks.results.wait(sent.id, 30_000)).toMatchObject({ status: 'SUCCESS', result: 113 })
      expect(failed).toBe(1)
    } finally {
      producer.sendEncoded = sendEncoded
    }
  })

  it('a chord of 40 hotspot tasks run 8 at a time calls its body exactly once with every result', async () => {
    let bodies = 0
    const name = `test.count-${Date.now()}`
    app.tasks.registry.register(
      name,
      (args) => {
        bodies++
        return (args[0] as number[]).reduce((a, b) => a + b, 0)
      },
      { queue: app.config.tasks.defaultQueue },
    )
    const header = Array.from({ length: 40 }, (_, i) => add(i, 1))
    const sent = await app.tasks.sendCanvas(chord(header, signature(name, [], {}, q())))
    expect(await app.tasks.results.wait(sent.id, 30_000)).toMatchObject({ status: 'SUCCESS', result: 820 })
    await new Promise((r) => setTimeout(r, 500)) // a second body, if any, would have run by now
    expect(bodies).toBe(1)
    const counters = ['.j', '.t', '.s'] as const
    // One key at a time: on Redis Cluster the three lie in different slots.
    for (const suffix of counters)
      expect(await app.redis.exists(groupKey(sent.groupId as string, suffix))).toBe(0)
  })

  it('an unknown task in a chord header is NotRegistered and fails the body with ChordError', async () => {
    const sent = await app.tasks.sendCanvas(
      chord([add(1, 1), signature('hotspot.no_such', [], {}, q())], signature('hotspot.sum', [], {}, q())),
    )
    const state = await app.tasks.results.wait(sent.id, 30_000)
    expect(state.status).toBe('FAILURE')
    expect(state.error?.type).toBe('ChordError')
    expect(state.error?.message).toMatch(/raised NotRegistered\('hotspot.no_such'\)$/)
  })

  it('refuses a canvas that contains itself, or nests absurdly deep, before sending anything', async () => {
    const cyclic: ChainCanvas = chain(add(1, 1))
    cyclic.steps.push(cyclic)
    await expect(app.tasks.sendCanvas(cyclic)).rejects.toThrow(CanvasError)
    await expect(app.tasks.sendCanvas(cyclic)).rejects.toThrow(/cycle/)
    let deep: ChainCanvas = chain(add(1, 1))
    for (let i = 0; i < MAX_CANVAS_DEPTH + 1; i++) deep = chain(deep)
    expect(() => toCelery(deep)).toThrow(/deeper than 32/)
    expect(() => toCelery(group(add(1), chain()))).toThrow(/at least one step/)
  })
})
