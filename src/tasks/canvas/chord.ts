// Group and chord state exactly as Celery 5.2's Redis result backend keeps it (celery/backends/redis.py
// set_chord_size / on_chord_part_return, celery/backends/base.py _save_group), so a Python worker and a hotspot
// worker can share one chord: whichever finishes the last header task sends the body, once, with no
// chord_unlock polling.
import { Cluster } from 'ioredis'
import { callScript, type RedisClient } from '../../infra/redis.ts'
import { pyJsonDumps } from '../message.ts'
import { RESULT_EXPIRES_SECONDS } from '../result-meta.ts'
import type { TaskStates } from '../task-states.ts'

const GROUP_PREFIX = 'celery-taskset-meta-'

/** `celery-taskset-meta-<gid>` (the GroupResult) and its chord keys `.j` (parts), `.t` (added), `.s` (size). */
export function groupKey(groupId: string, suffix: '' | '.j' | '.t' | '.s' = ''): string {
  return GROUP_PREFIX + groupId + suffix
}

/** One header task's outcome as Celery encodes it in `.j`: [1, task id, state, result]. */
export type ChordPart = [1, string, string, unknown]

/** `states`: the result backend's, whose `store` writes a key as Celery's backend writes every set (SETEX + PUBLISH). */
export function createChordStore(redis: RedisClient, states: TaskStates) {
  const partScript = async (keys: string[], args: (string | number)[]): Promise<string[]> => {
    if (!(redis instanceof Cluster)) return callScript<string[]>(redis, 'chordPart', keys, args)
    // Celery's keys carry no hash tag, so on Redis Cluster they live in different slots and no script or MULTI
    // spans them (Celery's own backend does not run on Cluster): separate commands, and a claim key (one
    // slot, SET NX) so that only one worker sends the body.
    const [jkey, tkey, skey] = keys as [string, string, string]
    await redis.zadd(jkey, String(args[1]), String(args[0]))
    const ready = await redis.zcount(jkey, '-inf', '+inf')
    const [extra, size] = [await redis.get(tkey), await redis.get(skey)]
    for (const key of keys) await redis.expire(key, RESULT_EXPIRES_SECONDS)
    if (size === null || ready !== Number(size) + Number(extra ?? 0)) return []
    const claimed = await redis.set(`${jkey}.claim`, '1', 'EX', RESULT_EXPIRES_SECONDS, 'NX')
    return claimed ? redis.zrange(jkey, '0', '-1') : []
  }

  return {
    /** What a Celery client does before sending a chord's header: `SETEX <gid>.s` + PUBLISH, like every set. */
    setChordSize: (groupId: string, size: number) => states.store(groupKey(groupId, '.s'), String(size)),

    /**
     * Records one header task's final state; returns every part (in group_index order) when this one completed
     * the chord, else null.
     */
    async partReturn(
      task: { id: string; groupId: string; groupIndex: number | null },
      state: string,
      result: unknown,
    ): Promise<ChordPart[] | null> {
      const keys = ['.j', '.t', '.s'].map((s) => groupKey(task.groupId, s as '.j'))
      const encoded = pyJsonDumps([1, task.id, state, result])
      const score = task.groupIndex ?? '+inf'
      const parts = await partScript(keys, [encoded, score, RESULT_EXPIRES_SECONDS])
      if (parts.length === 0) return null
      return parts.map((p) => JSON.parse(p) as ChordPart)
    },

    /** After the body was sent (Celery deletes them in a `finally`; here only once the send succeeded). */
    async forget(groupId: string) {
      for (const suffix of ['.j', '.t', '.s'] as const) await redis.del(groupKey(groupId, suffix))
      if (redis instanceof Cluster) await redis.del(`${groupKey(groupId, '.j')}.claim`)
    },

    /** GroupResult.save(): `{"result": [[gid, null], [[[id, null], null], …]]}` under celery-taskset-meta-<gid>. */
    async saveGroup(groupId: string, taskIds: string[]) {
      const tuple = [[groupId, null], taskIds.map((id) => [[id, null], null])]
      await states.store(groupKey(groupId), pyJsonDumps({ result: tuple }))
    },

    /** GroupResult.restore(): the member task ids, or null when no group was saved under that id. */
    async restoreGroup(groupId: string): Promise<string[] | null> {
      const raw = await redis.get(groupKey(groupId))
      if (raw === null) return null
      const meta = JSON.parse(raw) as { result?: [unknown, [[string, unknown], unknown][]] }
      return (meta.result?.[1] ?? []).map((child) => child[0][0])
    },
  }
}

export type ChordStore = ReturnType<typeof createChordStore>
