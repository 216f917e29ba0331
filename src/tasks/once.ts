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
    const lockKey = `${doneKey}:lock`
    for (let attempt = 0; ; attempt++) {
      const done = await redis.get(doneKey)
      if (done !== null) return JSON.parse(done) as T
      if ((await redis.set(lockKey, '1', 'PX', 30_000, 'NX')) === 'OK') break
      if (attempt > 300) throw new Error(`effect ${key} of task ${taskId} is locked by another run`)
      await new Promise((r) => setTimeout(r, 100))
    }
    try {
      const value = await effect()
      await redis.set(doneKey, JSON.stringify(value ?? null), 'EX', REMEMBER_SECONDS)
      return value
    } finally {
      await redis.del(lockKey)
    }
  }
}
