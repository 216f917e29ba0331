import { createTurnBatcher } from '../infra/turn-batcher.ts'

/** Reads waiting for Redis in this process, past which a read is refused (503) rather than queued. */
const MAX_PENDING_READS = 50_000

/**
 * Reads of a key's generation, batched per event-loop turn: every read that arrives before the batch's GET is
 * sent shares it, so a thousand hits in one turn cost Redis one GET instead of a thousand. A read never joins
 * a GET that was already sent, so it can never see a generation older than its own arrival (an invalidation
 * that finished before a request arrived is always seen by that request).
 */
export function createGenerationReader(read: (key: string) => Promise<string>) {
  const batcher = createTurnBatcher<string, null, string>({
    // All reads of one key in one turn share one GET; the cap only bounds memory.
    maxBatch: MAX_PENDING_READS,
    maxPending: MAX_PENDING_READS,
    async send(key, reads) {
      const generation = await read(key)
      return reads.map(() => generation)
    },
  })
  return (key: string): Promise<string> => batcher.add(key, null)
}
