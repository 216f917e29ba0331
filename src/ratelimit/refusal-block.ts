/**
 * An in-process block of refused subjects (as rate-limiter-flexible's `inMemoryBlockOnConsumed`): after Redis
 * refuses a subject, later takes of at least that weight under the same rules are refused here, with no Redis
 * call, until the unit that refused it leaves the window. A hammering client then costs no round trip.
 *
 * Exact, never refusing what Redis would admit: a refusal of weight w holds for every weight >= w until the
 * blocking unit expires, because units only ever leave the log by expiring — which is why a limiter with a
 * block cannot `release` units early (see limiter.ts). The block ends 1 ms before (local time the call was sent +
 * Redis's retry-after): Redis read its clock after the send, but in whole ms (truncated, up to 1 ms behind), so
 * without that 1 ms the block could outlast the unit by a fraction of a millisecond (the exactness test saw it).
 */
import type { Decision } from './limiter.ts'

type Refused = Extract<Decision, { allowed: false }>

interface Block {
  sentAt: number
  untilMs: number
  weight: number
  refusal: Refused
}

/** Subjects held at most; past it the oldest block goes first (memory stays bounded under a flood of keys). */
const MAX_BLOCKS = 10_000

export function createRefusalBlock(now: () => number = () => performance.now()) {
  const blocks = new Map<string, Block>()
  return {
    /** The refusal to repeat for this take, or undefined when Redis must decide. */
    check(key: string, weight: number): Refused | undefined {
      const block = blocks.get(key)
      if (!block) return undefined
      const left = block.untilMs - now()
      if (left <= 0) {
        blocks.delete(key)
        return undefined
      }
      if (weight < block.weight) return undefined
      const elapsed = now() - block.sentAt
      return {
        ...block.refusal,
        retryAfterMs: Math.ceil(left),
        resetMs: Math.max(0, Math.ceil(block.refusal.resetMs - elapsed)),
      }
    },
    /** Redis refused `weight` for `key`; `sentAt` is when the call went out. */
    remember(key: string, weight: number, refusal: Refused, sentAt: number) {
      // Never-admissible weights (Infinity) are refused without Redis anyway: nothing to gain by holding them.
      if (!Number.isFinite(refusal.retryAfterMs) || refusal.retryAfterMs <= 1) return
      if (blocks.size >= MAX_BLOCKS && !blocks.has(key)) {
        const oldest = blocks.keys().next().value
        if (oldest !== undefined) blocks.delete(oldest)
      }
      blocks.delete(key) // re-inserted last: Map order is the eviction order
      blocks.set(key, { sentAt, untilMs: sentAt + refusal.retryAfterMs - 1, weight, refusal })
    },
    forget(prefix: string) {
      for (const key of blocks.keys()) if (key.startsWith(prefix)) blocks.delete(key)
    },
    get size() {
      return blocks.size
    },
  }
}
