import { parseRate } from './rate-limit.ts'
import type { TaskHandler, TaskOptions, TaskRegistry } from './types.ts'

export interface RegisteredTask {
  name: string
  handler: TaskHandler
  options: Required<Omit<TaskOptions, 'queue' | 'timeLimit' | 'softTimeLimit' | 'rateLimit'>> &
    Pick<TaskOptions, 'timeLimit' | 'softTimeLimit' | 'rateLimit'> & { queue: string | undefined }
}

const DEFAULTS = { maxRetries: 3, retryBaseDelay: 1, retryMaxDelay: 300, retryJitter: true }

/** Task names → handlers. The worker runs only what is registered; anything else is dead-lettered. */
export function createRegistry(): TaskRegistry & {
  get(name: string): RegisteredTask | undefined
  names(): string[]
} {
  const tasks = new Map<string, RegisteredTask>()
  return {
    register(name, handler, options = {}) {
      if (tasks.has(name)) throw new Error(`task ${name} is registered twice`)
      parseRate(options.rateLimit) // a bad rate fails here, not at the first run
      tasks.set(name, { name, handler, options: { ...DEFAULTS, ...options, queue: options.queue } })
    },
    get: (name) => tasks.get(name),
    names: () => [...tasks.keys()].sort(),
  }
}

export type Registry = ReturnType<typeof createRegistry>

/** Delay before retry `n` (0-based): base * 2^n, capped, with jitter between 50 % and 100 %. */
export function retryDelaySeconds(
  task: RegisteredTask['options'],
  retries: number,
  random = Math.random,
): number {
  const raw = Math.min(task.retryMaxDelay, task.retryBaseDelay * 2 ** retries)
  return task.retryJitter ? raw * (0.5 + random() / 2) : raw
}
