/**
 * Reads of a key's generation, batched per event-loop turn: every read that arrives before the batch's GET is
 * sent shares it, so a thousand hits in one turn cost Redis one GET instead of a thousand. A read never joins
 * a GET that was already sent, so it can never see a generation older than its own arrival (an invalidation
 * that finished before a request arrived is always seen by that request).
 */
export function createGenerationReader(read: (key: string) => Promise<string>) {
  /** The batch still open for each key: closed (deleted) the moment its GET is sent. */
  const open = new Map<string, Promise<string>>()
  return (key: string): Promise<string> => {
    let batch = open.get(key)
    if (!batch) {
      batch = new Promise<string>((resolve, reject) => {
        setImmediate(() => {
          open.delete(key)
          read(key).then(resolve, reject)
        })
      })
      open.set(key, batch)
    }
    return batch
  }
}
