/**
 * One start/stop order for every part of an app: parts start in the order they were added and close in the
 * reverse order, so a part never outlives what it depends on. Hand-written: a dozen lines, and the libraries
 * that do this (awilix, …) bring a container we do not need.
 */
export interface LifecyclePart<A> {
  name: string
  /** Called by every `start(arg)` (a part ignores roles it does not run and starts at most once). */
  start?(arg: A): unknown
  /** Must be safe when `start` never ran: construction may already hold resources (connections, timers). */
  stop?(): unknown
}

export interface Lifecycle<A> {
  /** Registers a part as soon as it is built, so a later failure still closes it. */
  add(part: LifecyclePart<A>): void
  /** Starts the parts in order; if one fails, closes every part added and rethrows. */
  start(arg: A): Promise<void>
  /** Stops the parts in reverse order, once: a second call waits for the first. The first stop error is rethrown. */
  close(): Promise<void>
}

export function createLifecycle<A>(
  onStopError: (part: string, error: unknown) => void = () => {},
): Lifecycle<A> {
  const parts: LifecyclePart<A>[] = []
  let closing: Promise<void> | undefined
  const close = () => {
    closing ??= (async () => {
      let first: unknown
      for (const part of [...parts].reverse()) {
        try {
          await part.stop?.()
        } catch (error) {
          // Keep closing the rest: one part failing to stop must not leak the connections of the others.
          onStopError(part.name, error)
          first ??= error
        }
      }
      if (first !== undefined) throw first
    })()
    return closing
  }
  return {
    add(part) {
      if (closing) throw new Error(`cannot add ${part.name}: the app is closing`)
      parts.push(part)
    },
    async start(arg) {
      for (const part of parts) {
        if (closing) throw new Error(`cannot start ${part.name}: the app is closing`)
        try {
          await part.start?.(arg)
        } catch (error) {
          await close().catch(() => {})
          throw error
        }
      }
    },
    close,
  }
}
