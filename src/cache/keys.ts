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
