/**
 * Every Redis key of one cached value, built here only. The three share a hash tag, so one script can touch
 * them all on Redis Cluster, and different cached keys spread over the slots.
 */
export function cacheKeys(prefix: string, cache: string, key: string) {
  const tag = `${prefix}:{cache:${cache}:${key}}`
  return {
    entry: `${tag}:entry`,
    generation: `${tag}:gen`,
    lock: `${tag}:lock`,
  }
}

export type CacheKeys = ReturnType<typeof cacheKeys>

/**
 * The tag generations of every cache of one app: a counter (the epoch) bumped by every tag invalidation, and per
 * tag the epoch of its last invalidation. One hash tag for all, so an invalidation bumps both in one script on
 * Redis Cluster (tag invalidations are rare; reads of them are batched per event-loop turn).
 */
export function tagKeys(prefix: string) {
  const tag = `${prefix}:{cache-tags}`
  return {
    epoch: `${tag}:epoch`,
    tag: (name: string) => `${tag}:tag:${name}`,
  }
}
