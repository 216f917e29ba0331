/**
 * The counters' bucket tags spread the 16 buckets (and so the rankings' writes) evenly over a Redis Cluster's
 * masters, and the slots computed here are the ones the server computes.
 */
import calculateSlot from 'cluster-key-slot'
import { describe, expect, inject, it } from 'vitest'
import { BUCKET_TAGS, BUCKETS, counterKeys } from '../../src/counters/keys.ts'
import { createRedis } from '../../src/infra/redis.ts'
import { onCluster } from '../support/app.ts'

/** Buckets per master when `masters` masters hold equal, contiguous slot ranges (redis-cli --cluster create). */
function spread(masters: number): number[] {
  const counts = Array.from({ length: masters }, () => 0)
  for (const tag of BUCKET_TAGS) {
    const master = Math.floor((calculateSlot(tag) * masters) / 16384)
    counts[master] = (counts[master] ?? 0) + 1
  }
  return counts
}

describe('counter bucket tags', () => {
  it('put bucket b in the b-th sixteenth of the slot space, every key of a bucket on its one slot', () => {
    expect(BUCKET_TAGS).toHaveLength(BUCKETS)
    for (const [bucket, tag] of BUCKET_TAGS.entries()) {
      expect(Math.floor(calculateSlot(tag) / 1024)).toBe(bucket)
      const keys = counterKeys('hs', bucket)
      const all = [
        ...Object.values(keys).filter((k) => typeof k === 'string'),
        keys.rankDay(1),
        keys.visitors(7),
      ]
      expect(new Set(all.map((k) => calculateSlot(k as string)))).toEqual(new Set([calculateSlot(tag)]))
    }
  })

  it('spread evenly over 2, 3, 4 and 8 equal masters', () => {
    expect(spread(2)).toEqual([8, 8])
    expect(Math.max(...spread(3)) - Math.min(...spread(3))).toBeLessThanOrEqual(1)
    expect(spread(4)).toEqual([4, 4, 4, 4])
    expect(spread(8)).toEqual([2, 2, 2, 2, 2, 2, 2, 2])
  })

  it.runIf(onCluster)(
    'land 5 / 5 / 6 on the test cluster’s three masters, as the server computes slots',
    async () => {
      const redis = createRedis(inject('redisUrl'))
      try {
        const perMaster = new Map<string, number>()
        const shards = (await redis.call('CLUSTER', 'SLOTS')) as [number, number, [string, number]][]
        for (const tag of BUCKET_TAGS) {
          const slot = Number(await redis.call('CLUSTER', 'KEYSLOT', `hs:{${tag}}:counts`))
          expect(slot).toBe(calculateSlot(tag))
          const [, , [host, port]] = shards.find(([from, to]) => slot >= from && slot <= to) ?? [
            0,
            0,
            ['?', 0],
          ]
          perMaster.set(`${host}:${port}`, (perMaster.get(`${host}:${port}`) ?? 0) + 1)
        }
        expect([...perMaster.values()].sort()).toEqual([5, 5, 6])
      } finally {
        redis.disconnect()
      }
    },
  )
})
