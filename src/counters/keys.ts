/**
 * Every Redis key of the counters feature, built here only. An item lives in one of 16 buckets; every key one
 * view touches carries the bucket's hash tag `{v:b}`, so one script call stays on one Cluster slot while the
 * rankings spread over 16 slots instead of one hot key.
 */
export const BUCKETS = 16

export function bucketOf(itemId: number): number {
  return itemId % BUCKETS
}

export function counterKeys(prefix: string, bucket: number) {
  const tag = `${prefix}:{v:${bucket}}`
  return {
    counts: `${tag}:counts`,
    pending: `${tag}:pending`,
    flushing: `${tag}:flushing`,
    flushingId: `${tag}:flushing-id`,
    items: `${tag}:items`,
    rankAll: `${tag}:rank:all`,
    rankDay: (day: number) => `${tag}:rank:d:${day}`,
    rankWeek: (week: number) => `${tag}:rank:w:${week}`,
    visitors: (itemId: number) => `${tag}:hll:${itemId}`,
  }
}

/** Set once the Redis side has been built from SQL; its absence after a data loss triggers a rebuild. */
export const readyKey = (prefix: string) => `${prefix}:counters:ready`
export const rebuildLockKey = (prefix: string) => `${prefix}:counters:rebuilding`
