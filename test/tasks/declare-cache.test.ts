import { describe, expect, it } from 'vitest'
import { createDeclareCache } from '../../src/tasks/broker/declare-cache.ts'

describe('declare cache', () => {
  it('runs one declare for callers at the same time and is done after it', async () => {
    let runs = 0
    const cache = createDeclareCache(async () => {
      runs++
    })
    await Promise.all(Array.from({ length: 50 }, () => cache.ensure('q')))
    expect(runs).toBe(1)
    expect(cache.isDone('q')).toBe(true)
    await cache.ensure('q')
    expect(runs).toBe(1)
  })

  it('runs a failed declare again on the next call', async () => {
    let runs = 0
    const cache = createDeclareCache(async () => {
      runs++
      if (runs === 1) throw new Error('broker down')
    })
    await expect(cache.ensure('q')).rejects.toThrow('broker down')
    expect(cache.isDone('q')).toBe(false)
    await cache.ensure('q')
    expect(runs).toBe(2)
    expect(cache.isDone('q')).toBe(true)
  })

  it('does not mark done a declare that was running when it was reset', async () => {
    let finish = () => {}
    const cache = createDeclareCache(() => new Promise<void>((resolve) => (finish = resolve)))
    const first = cache.ensure('q')
    cache.reset()
    finish()
    await first
    expect(cache.isDone('q')).toBe(false)
  })
})
