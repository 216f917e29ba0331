/**
 * Every Redis name of the banners feature, built here only (the cache builds its own keys from these).
 * Slot layout on Redis Cluster: the cached list lives under the cache's tag `{cache:banners:list}` (entry,
 * generation and fill lock on one slot, see src/cache/keys.ts); the seed lock is a single key, used alone.
 */
export const CACHE_NAME = 'banners'
/** The one cached value: the public list of shown banners. */
export const LIST_KEY = 'list'
/** Held while one process seeds the demo banners, so two processes starting together do not both seed. */
export const seedLockKey = (prefix: string) => `${prefix}:banners:seeding`
