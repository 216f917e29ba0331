import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Entries, StoredEntry } from './entries.ts'

/** Concurrent calls for one id in this process share one run (the rest never reach Redis or SQL). */
export function createLocalFlights() {
  /** The run in progress for each id; removed when it settles. */
  const running = new Map<string, Promise<unknown>>()
  return {
    run<R>(id: string, fn: () => Promise<R>): Promise<R> {
      const current = running.get(id)
      if (current) return current as Promise<R>
      const started = fn().finally(() => running.delete(id))
      running.set(id, started)
      return started
    },
  }
}

/** What a caller that found no fresh value in L1 is to do next. */
export type Claim =
  /** Another process filled it meanwhile (or it was there all along). */
  | { kind: 'fresh'; entry: StoredEntry }
  /** Past its TTL, within grace: serve it; `token` set means this caller holds the lock and refreshes it. */
  | { kind: 'stale'; entry: StoredEntry; token: string | undefined }
  /** Missing: load it. `token` is '' when the caller stopped waiting for another loader and loads unlocked. */
  | { kind: 'load'; generation: string; token: string }

/** How a claim judges an entry and how long it waits on another process's refresh of a stale one. */
export interface ClaimOptions {
  /**
   * 0 when the entry's tags still hold; else the epoch of the newest invalidation among them (entries filled
   * under an older epoch then count as absent).
   */
  voidedAt(entry: StoredEntry): Promise<number>
  /** A stale entry another process is refreshing: poll this long for the fresh value before serving it. */
  staleWaitMs: number
}

/**
 * Single flight across processes: a short Redis lock per key elects the one loader; the others poll (5 ms,
 * doubling to 50 ms) until the value appears, and after `waitMs` load themselves rather than fail (the loader
 * may have died or be stuck). A lock that disappears without a value (the loader failed, an invalidation
 * deleted it) is taken by the next poller.
 */
export function createSingleFlight(entries: Entries, options: { lockTtlMs: number; waitMs: number }) {
  return {
    async claim(key: string, claim: ClaimOptions): Promise<Claim> {
      const token = randomUUID()
      const started = Date.now()
      const deadline = started + options.waitMs
      let pause = 5
      let belowEpoch = 0
      for (;;) {
        const entry = await entries.readOrLock(key, token, options.lockTtlMs, belowEpoch)
        if (entry.serialized !== null) {
          const voidedAt = await claim.voidedAt(entry)
          if (voidedAt > 0) {
            // One of its tags was invalidated after its load: ask again, treating it as absent.
            belowEpoch = voidedAt
            continue
          }
          if (entry.remainingMs > entry.graceMs) return { kind: 'fresh', entry }
          if (entry.locked || Date.now() >= started + claim.staleWaitMs)
            return { kind: 'stale', entry, token: entry.locked ? token : undefined }
        } else {
          if (entry.locked) return { kind: 'load', generation: entry.generation, token }
          if (Date.now() >= deadline) return { kind: 'load', generation: entry.generation, token: '' }
        }
        await sleep(pause)
        pause = Math.min(pause * 2, 50)
      }
    },

    /** For a forced refresh: the lock whatever the entry's state, or null when a loader is at work. */
    async lock(key: string): Promise<string | null> {
      const token = randomUUID()
      return (await entries.lock(key, token, options.lockTtlMs)) ? token : null
    },

    release: (key: string, token: string, pauseMs = 0) => entries.release(key, token, pauseMs),
  }
}
