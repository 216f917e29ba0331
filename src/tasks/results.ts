import type { RedisClient } from '../infra/redis.ts'
import { buildResultMeta, parseResultMeta, type ResultMetaInput, resultKey } from './result-meta.ts'
import { type Admission, createTaskStates, type TaskStates } from './task-states.ts'
import type { TaskResults, TaskState, TaskStatus } from './types.ts'

const READY = new Set<TaskStatus>(['SUCCESS', 'FAILURE', 'REVOKED'])

/**
 * Celery's Redis result backend, byte for byte: `celery-task-meta-<id>` holds the JSON, written with SETEX
 * (1 day) and PUBLISHed on the channel of the same name, atomically (Celery uses MULTI; one script here, which
 * writes all the states of an event-loop turn: task-states.ts). Python's `AsyncResult.get()` waits on that
 * channel, so a write without the PUBLISH would leave it hanging until its timeout.
 */
export function createResultBackend(
  redis: RedisClient,
  subscriber: () => RedisClient,
): TaskResults & {
  store(input: ResultMetaInput): Promise<void>
  /**
   * 'run' with STARTED (`input`) stored; 'revoked' when `revokedKey` exists, 'succeeded' when the task already
   * succeeded (nothing stored for either).
   */
  admit(input: ResultMetaInput, revokedKey: string): Promise<Admission>
  raw(taskId: string): Promise<string | null>
  /** The batched per-task operations, shared with chords' stores (one script run per turn). */
  states: TaskStates
} {
  const states = createTaskStates(redis)
  async function get(taskId: string): Promise<TaskState> {
    const parsed = parseResultMeta(await redis.get(resultKey(taskId)))
    if (!parsed.ok)
      return { taskId, status: 'FAILURE', error: { type: 'CorruptResult', message: parsed.message } }
    const { view } = parsed
    const state: TaskState = { taskId, status: view.status as TaskStatus }
    if (view.result !== undefined) state.result = view.result
    if (view.error) state.error = { type: view.error.type, message: view.error.message }
    return state
  }

  return {
    get,
    raw: (taskId) => redis.get(resultKey(taskId)),

    states,
    admit: (input, revokedKey) => states.admit(resultKey(input.taskId), revokedKey, buildResultMeta(input)),
    store: (input) => states.store(resultKey(input.taskId), buildResultMeta(input)),

    /** Like Celery's client: SUBSCRIBE first, then GET (so nothing published in between is missed). */
    async wait(taskId, timeoutMs) {
      const key = resultKey(taskId)
      const sub = subscriber()
      try {
        let resolveReady: (() => void) | undefined
        const ready = new Promise<void>((resolve) => {
          resolveReady = resolve
        })
        sub.on('message', (channel: string, message: string) => {
          if (channel !== key) return
          const parsed = parseResultMeta(message)
          if (parsed.ok && READY.has(parsed.view.status as TaskStatus)) resolveReady?.()
        })
        await sub.subscribe(key)
        const current = await get(taskId)
        if (READY.has(current.status)) return current
        await Promise.race([ready, new Promise((r) => setTimeout(r, timeoutMs).unref())])
        return get(taskId)
      } finally {
        sub.disconnect()
      }
    },
  }
}
