import { describe, expect, it, vi } from 'vitest'
import { cacheKeys } from '../../src/cache/keys.ts'
import { gate, sleep, source, twoProcesses } from './support.ts'

/** Tags (issue #17 item 6) against real Redis and RabbitMQ, over two processes of one deployment. */
describe('cache tags', () => {
  const { apps, cache, pair } = twoProcesses()

  it('invalidateTags in one process voids every entry with the tag in both, in every cache, and nothing else', async () => {
    const { ca: listA, cb: listB } = pair<number>({ tags: ['banners'] })
    const { ca: otherA, cb: otherB } = pair<number>({ tags: ['news'] })
    const untagged = cache<number>('b')
    const list = source(1)
    const other = source(1)
    const plain = source(1)
    for (const c of [listA, listB]) await c.get('k', list.load)
    for (const c of [otherA, otherB]) await c.get('k', other.load)
    await untagged.get('k', plain.load)
    expect(await listB.get('k', list.load)).toMatchObject({ value: 1, status: 'HIT' })
    expect(listB.l1.has('k')).toBe(true)
    list.value = 2
    other.value = 2
    plain.value = 2

    await otherA.invalidateTags(['banners']) // through a cache that does not carry the tag itself
    // The very next read in either process, L1 copy or not, broadcast arrived or not: the new value.
    expect(await listB.get('k', list.load)).toEqual({ value: 2, serialized: '2', status: 'MISS' })
    expect(await listA.get('k', list.load)).toMatchObject({ value: 2, status: 'HIT' })
    expect(list.loads).toBe(2)
    // Entries without the tag are untouched.
    expect(await otherB.get('k', other.load)).toMatchObject({ value: 1, status: 'HIT' })
    expect(await untagged.get('k', plain.load)).toMatchObject({ value: 1, status: 'HIT' })
    expect(other.loads).toBe(1)
  })

  it('after invalidateTags resolves no read in any process serves the voided value; 400 reads load once', async () => {
    const { ca, cb } = pair<number>({ tags: ['t'] })
    const src = source(1)
    let loads = 0
    const load = async () => {
      loads++
      await sleep(30) // every reader arrives while it runs
      return src.value
    }
    await Promise.all([ca.get('k', load), cb.get('k', load)])
    // Readers hammer both processes while the value changes and the tag is invalidated.
    let hammering = true
    const hammer = (async () => {
      while (hammering)
        await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? ca : cb).get('k', load)))
    })()
    await sleep(20)
    src.value = 2
    await ca.invalidateTags(['t'])
    loads = 0
    const after = await Promise.all(Array.from({ length: 400 }, (_, i) => (i % 2 ? ca : cb).get('k', load)))
    hammering = false
    await hammer
    expect(after.map((r) => r.value)).toEqual(Array(400).fill(2))
    expect(loads).toBe(1)
  })

  it('a loader that read before a tag invalidation never has its value served after it', async () => {
    const slow = gate()
    const { name, ca, cb } = pair<number>({ tags: ['t'] })
    const src = source(1)
    const first = ca.get('k', async () => {
      const read = await src.load()
      await slow.wait()
      return read
    })
    await slow.reached
    src.value = 2
    await cb.invalidateTags(['t'])
    slow.open()
    expect(await first).toMatchObject({ value: 1, status: 'MISS' }) // it overlapped the invalidation
    // Stored, but voided: neither process serves it.
    expect(await apps.a.redis.hget(cacheKeys(apps.a.prefix, name, 'k').entry, 'v')).toBe('1')
    expect(await cb.get('k', src.load)).toMatchObject({ value: 2, status: 'MISS' })
    expect(await ca.get('k', src.load)).toMatchObject({ value: 2, status: 'HIT' })
  })

  it('a voided entry is not served stale within its grace either', async () => {
    const { ca, cb } = pair<number>({ ttlMs: 200, graceMs: 60_000, jitter: 0, tags: ['t'] })
    const src = source(1)
    await ca.get('k', src.load)
    await sleep(250) // past the TTL: would be STALE
    src.value = 2
    await ca.invalidateTags(['t'])
    expect(await cb.get('k', src.load)).toMatchObject({ value: 2, status: 'MISS' })
  })

  it('a loader sets tags from what it loaded; those void it like the cache-wide ones', async () => {
    const { ca, cb } = pair<{ id: number; v: number }>()
    const rows = new Map([
      [1, 1],
      [2, 1],
    ])
    const loadItem = (id: number) => async (entry: { setTags(tags: string[]): void }) => {
      entry.setTags([`item:${id}`])
      return { id, v: rows.get(id) as number }
    }
    await ca.get('1', loadItem(1))
    await ca.get('2', loadItem(2))
    rows.set(1, 2)
    rows.set(2, 2)
    await cb.invalidateTags(['item:1'])
    expect(await ca.get('1', loadItem(1))).toMatchObject({ value: { v: 2 }, status: 'MISS' })
    expect(await cb.get('2', loadItem(2))).toMatchObject({ value: { v: 1 }, status: 'HIT' })
  })

  it('the broadcast drops L1 copies carrying the tag in the other process', async () => {
    const { ca, cb } = pair<number>()
    await cb.get('k', async (entry) => {
      entry.setTags(['t'])
      return 1
    })
    await cb.get('j', async (entry) => {
      entry.setTags(['other'])
      return 1
    })
    expect(cb.l1.has('k')).toBe(true)
    await ca.invalidateTags(['t'])
    await vi.waitFor(() => expect(cb.l1.has('k')).toBe(false))
    expect(cb.l1.has('j')).toBe(true)
  })

  it('refuses tags of the wrong form', async () => {
    const c = cache<number>('a')
    await expect(c.invalidateTags(['has space'])).rejects.toThrow(/must match/)
    expect(() => cache<number>('a', { tags: [''] })).toThrow(/must match/)
  })
})
