import { describe, expect, it } from 'vitest'
import { BatchQueueFullError, createTurnBatcher } from '../../src/infra/turn-batcher.ts'
import { isUnavailableError } from '../../src/infra/unavailable.ts'

const nextTurn = () => new Promise((r) => setImmediate(r))

describe('per event-loop turn batcher', () => {
  it('sends what arrives in one turn as one call per key, in arrival order, and answers each caller its own result', async () => {
    const sent: [string, number[]][] = []
    const batcher = createTurnBatcher<string, number, string>({
      maxBatch: 100,
      maxPending: 1000,
      async send(key, items) {
        sent.push([key, items])
        return items.map((n) => `${key}${n}`)
      },
    })
    const answers = await Promise.all([
      batcher.add('a', 1),
      batcher.add('b', 2),
      batcher.add('a', 3),
      batcher.add('a', 4),
    ])
    expect(answers).toEqual(['a1', 'b2', 'a3', 'a4'])
    expect(sent).toEqual([
      ['a', [1, 3, 4]],
      ['b', [2]],
    ])
    // A later turn is a new batch.
    expect(await batcher.add('a', 5)).toBe('a5')
    expect(sent).toHaveLength(3)
    expect(batcher.pending()).toBe(0)
  })

  it('splits a turn into calls of at most maxBatch items', async () => {
    const sizes: number[] = []
    const batcher = createTurnBatcher<string, number, number>({
      maxBatch: 40,
      maxPending: 10_000,
      async send(_, items) {
        sizes.push(items.length)
        return items
      },
    })
    const all = Array.from({ length: 100 }, (_, i) => i)
    expect(await Promise.all(all.map((i) => batcher.add('k', i)))).toEqual(all)
    expect(sizes).toEqual([40, 40, 20])
  })

  it('never lets an item join a call that already left', async () => {
    const releases: (() => void)[] = []
    const calls: number[][] = []
    const batcher = createTurnBatcher<string, number, number>({
      maxBatch: 100,
      maxPending: 100,
      async send(_, items) {
        calls.push(items)
        await new Promise<void>((r) => releases.push(r))
        return items
      },
    })
    const first = batcher.add('k', 1)
    await nextTurn()
    expect(calls).toEqual([[1]])
    const second = batcher.add('k', 2) // the first call is still in flight
    await nextTurn()
    expect(calls).toEqual([[1], [2]])
    for (const release of releases) release()
    expect(await Promise.all([first, second])).toEqual([1, 2])
  })

  it('a failed call rejects exactly its own callers', async () => {
    const batcher = createTurnBatcher<string, number, number>({
      maxBatch: 100,
      maxPending: 100,
      async send(key, items) {
        if (key === 'bad') throw new Error('boom')
        return items
      },
    })
    const results = await Promise.allSettled([
      batcher.add('bad', 1),
      batcher.add('ok', 2),
      batcher.add('bad', 3),
    ])
    expect(results.map((r) => r.status)).toEqual(['rejected', 'fulfilled', 'rejected'])
    expect(batcher.pending()).toBe(0)
  })

  it('bounds memory while the server hangs: past maxPending, adds fail at once as unavailable (503) until it answers', async () => {
    const hung: (() => void)[] = []
    const batcher = createTurnBatcher<string, number, number>({
      maxBatch: 10,
      maxPending: 25,
      send: (_, items) =>
        new Promise((resolve) => {
          hung.push(() => resolve(items))
        }),
    })
    const accepted = Array.from({ length: 25 }, (_, i) => batcher.add(`k${i % 3}`, i))
    await nextTurn() // sent, never answered
    const refused = await Promise.allSettled(Array.from({ length: 1000 }, (_, i) => batcher.add('k', i)))
    expect(refused.every((r) => r.status === 'rejected' && r.reason instanceof BatchQueueFullError)).toBe(
      true,
    )
    const reason = (refused[0] as PromiseRejectedResult).reason
    expect(isUnavailableError(reason)).toBe(true)
    expect(batcher.pending()).toBe(25)
    // Once the server answers, the backlog drains and new work is taken again.
    for (const answer of hung) answer()
    expect((await Promise.all(accepted)).length).toBe(25)
    expect(batcher.pending()).toBe(0)
    const later = batcher.add('k', 7)
    await nextTurn()
    hung.at(-1)?.()
    for (const answer of hung) answer()
    expect(await later).toBe(7)
  })

  it('push: items nobody waits for join the same turn batches, and past maxPending are dropped (false)', async () => {
    const sent: number[][] = []
    const releases: (() => void)[] = []
    const batcher = createTurnBatcher<string, number, undefined>({
      maxBatch: 2,
      maxPending: 3,
      async send(_key, items) {
        sent.push(items)
        await new Promise<void>((r) => releases.push(r))
        return new Array(items.length)
      },
    })
    expect([batcher.push('e', 1), batcher.push('e', 2), batcher.push('e', 3)]).toEqual([true, true, true])
    expect(batcher.push('e', 4)).toBe(false) // 3 waiting: full
    await nextTurn()
    expect(sent).toEqual([[1, 2], [3]])
    expect(batcher.pending()).toBe(3) // in flight until the server answers
    for (const release of releases) release()
    for (let i = 0; i < 5 && batcher.pending() > 0; i++) await nextTurn()
    expect(batcher.pending()).toBe(0)
    expect(batcher.push('e', 5)).toBe(true)
  })
})
