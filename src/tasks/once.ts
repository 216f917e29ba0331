import { createLock } from '../infra/lock/index.ts'
import type { RedisClient } from '../infra/redis.ts'

/** Remembered effects expire after a week: far longer than any redelivery or retry schedule. */
const REMEMBER_SECONDS = 7 * 86_400

/**
 * "At most once per task id and key": the effect's result is stored in Redis after it ran, and returned
 * instead of running it again when the same task is delivered again. A short lock keeps two deliveries that
 * arrive at the same time (after a connection loss) from both running it.
 */
export function createOnce(redis: RedisClient, prefix: string) {
  return async function once<T>(taskId: string, key: string, effect: () => Promise<T>): Promise<T> {
    const doneKey = `${prefix}:{task-once:${taskId}}:${key}`
    const remembered = async () => {
      const done = await redis.get(doneKey)
      return done === null ? undefined : { value: JSON.parse(done) as T }
    }
    const before = await remembered()
    if (before) return before.value
    // Renewed while the effect runs, so a slow effect is never run a second time beside it.
    const lock = createLock(redis, `${doneKey}:lock`, { ttlMs: 30_000 })
    if (!(await lock.acquire(30_000)))
      throw new Error(`effect ${key} of task ${taskId} is locked by another run`)
    try {
      // The run that held the lock before us may have done it.
      const after = await remembered()
      if (after) return after.value
      const value = await effect()
      await redis.set(doneKey, JSON.stringify(value ?? null), 'EX', REMEMBER_SECONDS)
      return value
    } finally {
      await lock.release()
    }
  }
}
