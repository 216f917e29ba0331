// Celery's soft and hard time limits for a JS handler. Celery's pool kills the process running the task at the
// hard limit; a promise cannot be killed, so here the task fails at the hard limit and the worker moves on
// (slot freed, message acked) while the abandoned handler is told through its AbortSignal to stop.
import type { DecodedTask } from './message.ts'
import type { RegisteredTask } from './registry.ts'
import { SoftTimeLimitExceeded, TimeLimitExceeded } from './types.ts'

/**
 * A task's AbortController, made only when something asks for it: most handlers never read `context.signal`,
 * and most tasks have no time limit and are never terminated, yet creating a controller and its signal per
 * task was 4 % of a busy worker's CPU (bench/results, the tasks profile).
 */
export class LazyAbort {
  #controller: AbortController | undefined
  get signal(): AbortSignal {
    this.#controller ??= new AbortController()
    return this.#controller.signal
  }
  abort(reason: unknown): void {
    this.#controller ??= new AbortController()
    this.#controller.abort(reason)
  }
  get aborted(): boolean {
    return this.#controller?.signal.aborted ?? false
  }
  get reason(): unknown {
    return this.#controller?.signal.reason
  }
}

export interface TimeLimits {
  /** Seconds, or null for none. */
  hard: number | null
  soft: number | null
}

/** As Celery's Request: the message's `timelimit` header where set, else the task's own options. */
export function timeLimitsOf(task: DecodedTask, def: RegisteredTask): TimeLimits {
  return {
    hard: task.timeLimit.hard || def.options.timeLimit || null,
    soft: task.timeLimit.soft || def.options.softTimeLimit || null,
  }
}

/**
 * Runs the handler under its limits: at `soft` the signal aborts with a SoftTimeLimitExceeded (the handler may
 * catch it and still return); at `hard` this rejects with a TimeLimitExceeded at once, whatever the handler does.
 */
export function runWithTimeLimits(
  run: () => unknown,
  limits: TimeLimits,
  abort: Pick<LazyAbort, 'abort'>,
): Promise<unknown> {
  // Called now, not in a later microtask (one promise and one microtask less per task); a throw becomes a rejection.
  let running: Promise<unknown>
  try {
    running = Promise.resolve(run())
  } catch (error) {
    running = Promise.reject(error)
  }
  if (!limits.hard && !limits.soft) return running
  const timers: NodeJS.Timeout[] = []
  if (limits.soft) {
    const soft = limits.soft
    timers.push(setTimeout(() => abort.abort(new SoftTimeLimitExceeded(soft)), soft * 1000))
  }
  const outcome = limits.hard
    ? Promise.race([
        running,
        new Promise<never>((_, reject) => {
          const hard = limits.hard as number
          timers.push(
            setTimeout(() => {
              const error = new TimeLimitExceeded(hard)
              abort.abort(error)
              reject(error)
            }, hard * 1000),
          )
        }),
      ])
    : running
  // An abandoned handler may still reject later: that outcome is ignored, never an unhandled rejection.
  running.catch(() => {})
  return outcome.finally(() => {
    for (const timer of timers) clearTimeout(timer)
  })
}
