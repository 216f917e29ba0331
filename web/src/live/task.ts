import { api } from '../api/client.ts'
import type { TaskState } from '../api/types.ts'

const FINAL = new Set(['SUCCESS', 'FAILURE', 'REVOKED'])

/**
 * Polls `GET /api/tasks/:id` until the task is done, backing off from 200 ms to 2 s between reads. Resolves
 * with the last state (still pending after `giveUpMs`). A failed read is retried like a pending answer.
 */
export async function waitForTask(
  taskId: string,
  options: { giveUpMs?: number; signal?: AbortSignal; onState?: (state: TaskState) => void } = {},
): Promise<TaskState> {
  const deadline = Date.now() + (options.giveUpMs ?? 120_000)
  let delay = 200
  let last: TaskState = { taskId, status: 'PENDING' }
  for (;;) {
    try {
      last = await api<TaskState>(`/api/tasks/${encodeURIComponent(taskId)}`, { signal: options.signal })
      options.onState?.(last)
      if (FINAL.has(last.status)) return last
    } catch (error) {
      if ((error as Error).name === 'AbortError') throw error
    }
    if (Date.now() + delay > deadline) return last
    await new Promise((resolve) => setTimeout(resolve, delay))
    if (options.signal?.aborted) throw new DOMException('aborted', 'AbortError')
    delay = Math.min(2000, Math.round(delay * 1.5))
  }
}
