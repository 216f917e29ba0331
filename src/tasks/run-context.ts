import type { Logger } from '../infra/logger.ts'
import type { LazyAbort } from './time-limits.ts'
import type { TaskContext } from './types.ts'

type Once = <T>(taskId: string, key: string, effect: () => Promise<T>) => Promise<T>

/**
 * The context a handler gets. A class rather than an object literal: its getter and `once` live on the
 * prototype, so a run allocates one object, not an object, a getter and a closure (this runs for every task).
 */
export class RunContext implements TaskContext {
  readonly #abort: LazyAbort
  readonly #once: Once

  constructor(
    readonly taskId: string,
    readonly name: string,
    readonly retries: number,
    readonly redelivered: boolean,
    readonly log: Logger,
    abort: LazyAbort,
    once: Once,
  ) {
    this.#abort = abort
    this.#once = once
  }

  get signal(): AbortSignal {
    return this.#abort.signal
  }

  once<T>(key: string, effect: () => Promise<T>): Promise<T> {
    return this.#once(this.taskId, key, effect)
  }
}
