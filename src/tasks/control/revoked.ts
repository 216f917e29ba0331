import type { RedisClient } from '../../infra/redis.ts'
import { resultKey } from '../result-meta.ts'

/** How long a revoked id is remembered (Celery keeps revoked ids in memory for a few hours too). */
const REVOKED_TTL_SECONDS = 3 * 3600

/**
 * Revoked task ids, shared by every hotspot worker of a deployment through Redis: a revoke heard by one worker
 * stops the task on whichever worker later receives it (a countdown task may arrive anywhere). One key per id
 * (with its own expiry) so the set never grows without bound. The key's hash tag is the task's result key, so
 * both share a slot: the worker checks one and writes STARTED to the other in one script run (task-states.ts),
 * on a Cluster too.
 */
export function createRevokedStore(redis: RedisClient, prefix: string) {
  const key = (id: string) => `${prefix}:revoked:{${resultKey(id)}}`
  const listKey = `${prefix}:revoked-ids`
  return {
    async add(ids: string[]) {
      const pipeline = redis.pipeline()
      for (const id of ids) pipeline.set(key(id), '1', 'EX', REVOKED_TTL_SECONDS)
      await pipeline.exec()
      // The list answers `inspect revoked`; capped, as Celery's LimitedSet is.
      await redis.lpush(listKey, ...ids)
      await redis.ltrim(listKey, 0, 9999)
      await redis.expire(listKey, REVOKED_TTL_SECONDS)
    },
    /** The key that marks `id` revoked (the worker's admission checks it: task-states.lua). */
    key,
    async list() {
      return [...new Set(await redis.lrange(listKey, 0, -1))]
    },
  }
}

export type RevokedStore = ReturnType<typeof createRevokedStore>
