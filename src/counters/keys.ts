/**
 * Every Redis key of the counters feature, built here only. An item lives in one of 16 buckets; every key one
 * view touches carries the bucket's hash tag, so one script call stays on one Cluster slot while the rankings
 * spread over 16 slots instead of one hot key.
 */
import { createHash } from 'node:crypto'
import calculateSlot from 'cluster-key-slot'

export const BUCKETS = 16

const SLOTS = 16384

/**
 * Bucket b's hash tag is `v:<b>:<n>` with the first n whose slot lies in the middle half of the b-th sixteenth of
 * the slot space. Evenly spaced slots spread the buckets evenly over any cluster whose masters hold equal slot
 * ranges (3 masters: 5 / 5 / 6 buckets, 4 masters: 4 each); plain `v:<b>` tags fell 3 / 8 / 5 on three masters.
 */
export const BUCKET_TAGS: readonly string[] = Array.from({ length: BUCKETS }, (_, bucket) => {
  const width = SLOTS / BUCKETS
  const low = bucket * width + width / 4
  const high = bucket * width + (3 * width) / 4
  for (let n = 0; ; n++) {
    const slot = calculateSlot(`v:${bucket}:${n}`)
    if (slot >= low && slot < high) return `v:${bucket}:${n}`
  }
})

export function bucketOf(itemId: number): number {
  return itemId % BUCKETS
}

/** Built once per prefix and bucket: a rankings read names all 16 buckets, and each build showed in its profile. */
const built = new Map<string, ReturnType<typeof buildKeys>>()

export function counterKeys(prefix: string, bucket: number): ReturnType<typeof buildKeys> {
  const id = `${prefix}\0${bucket}`
  let keys = built.get(id)
  if (!keys) {
    keys = buildKeys(prefix, bucket)
    built.set(id, keys)
  }
  return keys
}

function buildKeys(prefix: string, bucket: number) {
  const tag = `${prefix}:{${BUCKET_TAGS[bucket]}}`
  return {
    counts: `${tag}:counts`,
    pending: `${tag}:pending`,
    flushing: `${tag}:flushing`,
    flushingId: `${tag}:flushing-id`,
    items: `${tag}:items`,
    rankAll: `${tag}:rank:all`,
    rankDay: (day: number) => `${tag}:rank:d:${day}`,
    rankWeek: (week: number) => `${tag}:rank:w:${week}`,
    rankMonth: (month: number) => `${tag}:rank:m:${month}`,
    /** Log-scored decayed views (see trending.ts): never rescored, never expires. */
    rankTrending: `${tag}:rank:trending`,
    /** Ids of this bucket's items of one kind, for rankings per kind (intersected with a ranking). */
    kindItems: (kind: string) => `${tag}:items:${kind}`,
    /** A ranking intersected with a kind, built and dropped inside one script call. */
    scratch: `${tag}:rank:scratch`,
    visitors: (itemId: number) => `${tag}:hll:${itemId}`,
    /** A visitor's view of an item within the dedupe window (COUNTERS_DEDUPE_SECONDS); expires with it. */
    // Hashed: a visitor id may be a client address, which is not kept in clear at rest.
    seen: (itemId: number, visitor: string) =>
      `${tag}:seen:${itemId}:${createHash('sha256').update(visitor).digest('base64url').slice(0, 22)}`,
  }
}

/**
 * Set once the Redis side has been built from SQL; its absence after a data loss triggers a rebuild. `:2` since the
 * bucket tags moved: an upgraded deployment rebuilds its counts under the new keys (a clean stop flushed them all).
 * `:3` since the kind sets, month and trending rankings: an upgrade builds them (every rebuild write is "if absent").
 */
export const readyKey = (prefix: string) => `${prefix}:counters:ready:3`
export const rebuildLockKey = (prefix: string) => `${prefix}:counters:rebuilding`
