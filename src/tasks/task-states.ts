import calculateSlot from 'cluster-key-slot'
import { Cluster } from 'ioredis'
import { callScript, type RedisClient } from '../infra/redis.ts'
import { createTurnBatcher } from '../infra/turn-batcher.ts'
import { RESULT_EXPIRES_SECONDS } from './result-meta.ts'

type Item =
  | { op: 'admit'; key: string; revokedKey: string; json: string }
  | { op: 'store'; key: string; json: string }

/** What `admit` found: run the task (STARTED written), or not, and why. */
export type Admission = 'run' | 'succeeded' | 'revoked'
const ADMISSIONS: Admission[] = ['succeeded', 'run', 'revoked']

/** Operations per script run: one run stays short for Redis' single thread. */
const MAX_BATCH = 500
/** Operations waiting or in flight past which new ones fail at once (a hung Redis must not grow memory). */
const MAX_PENDING = 50_000

/**
 * The per-task Redis work of the worker (may it run: not revoked, not done already, then STARTED; and its
 * final state), gathered per event-loop turn into one run of task-states.lua. Each was its own command before:
 * at 100 handlers that is hundreds of commands per turn, and the client's cost per command (not Redis, not the
 * network: auto-pipelining already shares the writes) was the largest part of the worker's CPU. Each call
 * still resolves only once Redis ran its operation. On a Cluster the operations of one run must share a hash
 * slot, so they are grouped by the result key's slot (standalone and Sentinel: one group).
 */
export function createTaskStates(redis: RedisClient) {
  const onCluster = redis instanceof Cluster
  const batcher = createTurnBatcher<number, Item, number>({
    maxBatch: MAX_BATCH,
    maxPending: MAX_PENDING,
    async send(_slot, items) {
      const keys: string[] = []
      const args: string[] = [String(RESULT_EXPIRES_SECONDS)]
      for (const item of items) {
        keys.push(item.key)
        if (item.op === 'admit') keys.push(item.revokedKey)
        args.push(item.op, item.json)
      }
      return callScript<number[]>(redis, 'taskStates', [String(keys.length), ...keys], args)
    },
  })
  const add = (item: Item) => batcher.add(onCluster ? calculateSlot(item.key) : 0, item)

  return {
    /**
     * Whether a received task may run: not when its revoked key (which must share the result key's hash slot)
     * exists, nor when it already succeeded; otherwise STARTED is written (`json`) and it runs.
     */
    async admit(key: string, revokedKey: string, json: string): Promise<Admission> {
      const found = await add({ op: 'admit', key, revokedKey, json })
      const admission = ADMISSIONS[found]
      if (!admission) throw new Error(`task-states.lua answered ${found} for an admission`)
      return admission
    },
    /** SETEX + PUBLISH, as Celery's Redis result backend writes a state. */
    store: (key: string, json: string) => add({ op: 'store', key, json }).then(() => undefined),
  }
}

export type TaskStates = ReturnType<typeof createTaskStates>
