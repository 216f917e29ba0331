import { callScript, loadScripts, type RedisClient } from '../infra/redis.ts'
import { cacheKeys } from './keys.ts'

/** What Redis holds for one key, as read by `readOrLock`. */
export interface StoredEntry {
  /** Serialized value; null when absent (or filled under an older generation). */
  serialized: string | null
  /** Current generation ('' = never invalidated). */
  generation: string
  /** Milliseconds the entry has left in Redis (fresh part + grace). */
  remainingMs: number
  graceMs: number
  /** True when this caller took the fill lock (it must load, or refresh the stale value). */
  locked: boolean
  /** The entry's tags (none when absent). */
  tags: string[]
  /** Tag epoch its loader read before it ran (0 when absent). */
  epoch: number
}

export interface FillRequest {
  /** Generation read before the loader touched SQL. */
  generation: string
  serialized: string
  freshMs: number
  graceMs: number
  /** Lock token to release ('' when the loader held none). */
  token: string
  /** Store under a new generation ('' = keep): retires every process's L1 copy. */
  newGeneration: string
  tags: string[]
  /** Tag epoch read before the loader ran. */
  epoch: number
}

const loaded = new WeakSet<RedisClient>()

/** Registers the cache's Lua scripts on a client, once per client (several caches share one). */
export function loadCacheScripts(redis: RedisClient): void {
  if (loaded.has(redis)) return
  loadScripts(redis, new URL('./', import.meta.url))
  loaded.add(redis)
}

/** Typed wrappers of the cache's Lua scripts: callers never build script arguments by hand. */
export function createEntries(redis: RedisClient, prefix: string, cache: string, generationTtlMs: number) {
  loadCacheScripts(redis)
  const keysOf = (key: string) => cacheKeys(prefix, cache, key)
  const all = (key: string) => {
    const k = keysOf(key)
    return [k.entry, k.generation, k.lock]
  }

  return {
    keysOf,

    async generation(key: string): Promise<string> {
      return (await redis.get(keysOf(key).generation)) ?? ''
    },

    /** `belowEpoch` > 0: an entry filled under an older tag epoch counts as absent (a tag of it was voided). */
    async readOrLock(key: string, token: string, lockMs: number, belowEpoch = 0): Promise<StoredEntry> {
      const [serialized, generation, remainingMs, graceMs, locked, tags, epoch] = await callScript<
        [string | null, string, number, number, number, string, number]
      >(redis, 'readOrLockEntry', all(key), [token, lockMs, belowEpoch])
      return {
        serialized,
        generation,
        remainingMs,
        graceMs,
        locked: locked === 1,
        tags: tags ? (JSON.parse(tags) as string[]) : [],
        epoch: Number(epoch),
      }
    },

    /** Takes the fill lock whatever the entry's state (a forced refresh); false when a loader holds it. */
    async lock(key: string, token: string, lockMs: number): Promise<boolean> {
      return (await redis.set(keysOf(key).lock, token, 'PX', lockMs, 'NX')) === 'OK'
    },

    async fill(key: string, fill: FillRequest): Promise<boolean> {
      const freshMs = Math.max(1, Math.round(fill.freshMs))
      const graceMs = Math.max(0, Math.round(fill.graceMs))
      const stored = await callScript<number>(redis, 'fillEntry', all(key), [
        fill.generation,
        fill.serialized,
        freshMs,
        graceMs,
        fill.token,
        fill.newGeneration,
        // A loader may set a longer TTL than the cache's: the generation still outlives the entry.
        Math.max(generationTtlMs, 2 * (freshMs + graceMs)),
        fill.tags.length > 0 ? JSON.stringify(fill.tags) : '',
        fill.epoch,
      ])
      return stored === 1
    },

    async bump(key: string, generation: string): Promise<void> {
      await callScript(redis, 'bumpGeneration', all(key), [generation, generationTtlMs])
    },

    /** Frees the lock now, or (pauseMs > 0) keeps it that long to space out retries. */
    async release(key: string, token: string, pauseMs = 0): Promise<void> {
      await callScript(redis, 'releaseFillLock', [keysOf(key).lock], [token, Math.round(pauseMs)])
    },
  }
}

export type Entries = ReturnType<typeof createEntries>
