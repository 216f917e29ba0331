import { LRUCache } from 'lru-cache'

/** A value held in this process, with what is needed to know whether it may still be served. */
export interface L1Entry<T> {
  value: T
  /** As stored in Redis, kept so a hit is never serialized again. */
  serialized: string
  /** Generation of the Redis entry it came from ('?' = loaded while Redis was down: never matches). */
  generation: string
  /** Local clock: served as HIT until then (never later than the Redis copy's freshness). */
  freshUntil: number
  /** Local clock: may be served as STALE until then. */
  staleUntil: number
  /** Its tags, and the tag epoch its loader read before it ran (tags.ts). */
  tags: string[]
  epoch: number
  /** Tag epoch as of which its tags were last seen unvoided (changed in place: saves re-reading them). */
  checkedEpoch: number
}

/**
 * The in-process layer: bounded (LRU) and short-lived. It is only trusted after a cheap check that the key's
 * generation in Redis is still the one it was filled under, so an invalidation anywhere is seen on the next read;
 * the broadcast (invalidation.ts) drops copies early and keeps them out of the Redis-down fallback.
 * lru-cache rather than a hand-written Map: size bound, per-entry TTL and LRU order, maintained and tested.
 */
export function createL1<T>(options: { maxEntries: number; ttlMs: number }) {
  const lru = new LRUCache<string, L1Entry<T>>({ max: options.maxEntries, ttl: options.ttlMs })
  return {
    get: (key: string) => lru.get(key),
    set(key: string, entry: L1Entry<T>) {
      const ttl = Math.min(options.ttlMs, entry.staleUntil - Date.now())
      if (ttl > 0) lru.set(key, entry, { ttl })
      else lru.delete(key)
    },
    delete: (key: string) => lru.delete(key),
    /** Drops every copy carrying one of `tags` (a walk of this process's few entries, not of Redis). */
    dropTagged(tags: readonly string[]): number {
      const voided = new Set(tags)
      const keys: string[] = []
      lru.forEach((entry, key) => {
        if (entry.tags.some((tag) => voided.has(tag))) keys.push(key)
      })
      for (const key of keys) lru.delete(key)
      return keys.length
    },
    has: (key: string) => lru.has(key),
    clear: () => lru.clear(),
  }
}

export type L1<T> = ReturnType<typeof createL1<T>>
