/** Every Redis name of the banners feature, built here only (the cache builds its own keys from these). */
export const CACHE_NAME = 'banners'
/** The one cached value: the public list of shown banners. */
export const LIST_KEY = 'list'
/** Held while one process seeds the demo banners, so two processes starting together do not both seed. */
export const seedLockKey = (prefix: string) => `${prefix}:banners:seeding`
