/**
 * Group commit, per key: everything added during one event-loop turn is sent together, one `send` per key (and
 * per `maxBatch` items), when the turn ends (setImmediate). Each `add` settles with its own result once the send
 * holding it has settled: nothing is answered before the server has it. An item never joins a send that already
 * left, so it never gets an answer older than its own arrival.
 *
 * Memory stays bounded when the server hangs: past `maxPending` items waiting or in flight, `add` fails at once
 * with `BatchQueueFullError` (→ 503) instead of queueing without end.
 */
export interface TurnBatcherOptions<K, T, R> {
  /** Sends the items of one key, in arrival order; resolves with one result per item, in the same order. */
  send(key: K, items: T[]): Promise<R[]>
  /** Items per `send`: keeps one call short (Redis is single-threaded, SQL statements have size limits). */
  maxBatch: number
  /** Items waiting or in flight, all keys together, past which `add` is refused. */
  maxPending: number
}

export interface TurnBatcher<K, T, R> {
  add(key: K, item: T): Promise<R>
  /**
   * Adds an item nobody waits for (best-effort events): no promise is made for it, so `send` must handle its own
   * failure. False when refused (`maxPending` reached): the item was dropped.
   */
  push(key: K, item: T): boolean
  /** Items waiting or in flight now. */
  pending(): number
}

export class BatchQueueFullError extends Error {
  override name = 'BatchQueueFullError'
  constructor(limit: number) {
    super(`more than ${limit} operations already wait for the server: refusing new ones until it answers`)
  }
}

interface Entry<T, R> {
  item: T
  resolve(result: R): void
  reject(error: unknown): void
}

const ignore = () => {}

export function createTurnBatcher<K, T, R>(options: TurnBatcherOptions<K, T, R>): TurnBatcher<K, T, R> {
  const { maxBatch, maxPending } = options
  if (!(maxBatch >= 1) || !(maxPending >= 1)) throw new Error('maxBatch and maxPending must be at least 1')
  let queue = new Map<K, Entry<T, R>[]>()
  let scheduled = false
  let inFlight = 0
  let waiting = 0

  async function send(key: K, entries: Entry<T, R>[]) {
    inFlight += entries.length
    try {
      const results = await options.send(
        key,
        entries.map((e) => e.item),
      )
      if (results.length !== entries.length)
        throw new Error(`batch send returned ${results.length} results for ${entries.length} items`)
      for (const [i, e] of entries.entries()) e.resolve(results[i] as R)
    } catch (error) {
      for (const e of entries) e.reject(error)
    } finally {
      inFlight -= entries.length
    }
  }

  function drain() {
    scheduled = false
    const batches = queue
    queue = new Map()
    waiting = 0
    for (const [key, entries] of batches) {
      for (let i = 0; i < entries.length; i += maxBatch) void send(key, entries.slice(i, i + maxBatch))
    }
  }

  function enqueue(key: K, entry: Entry<T, R>) {
    let entries = queue.get(key)
    if (!entries) {
      entries = []
      queue.set(key, entries)
    }
    entries.push(entry)
    waiting++
    if (!scheduled) {
      scheduled = true
      setImmediate(drain)
    }
  }

  return {
    add(key, item) {
      if (waiting + inFlight >= maxPending) return Promise.reject(new BatchQueueFullError(maxPending))
      return new Promise<R>((resolve, reject) => enqueue(key, { item, resolve, reject }))
    },
    push(key, item) {
      if (waiting + inFlight >= maxPending) return false
      enqueue(key, { item, resolve: ignore, reject: ignore })
      return true
    },
    pending: () => waiting + inFlight,
  }
}
