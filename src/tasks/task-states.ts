import calculateSlot from 'cluster-key-slot'
import { Cluster } from 'ioredis'
import { callScript, type RedisClient } from '../infra/redis.ts'
import { createTurnBatcher } from '../infra/turn-batcher.ts'
import { RESULT_EXPIRES_SECONDS } from './result-meta.ts'

type Operation = 'revoked' | 'start' | 'store'
interface Item {
  op: Operation
  key: string
  json: string
}

/** Operations per script run: one run stays short for Redis' single thread. */
const MAX_BATCH = 500
/** Operations waiting or in flight past which new ones fail at once (a hung Redis must not grow memory). */
const MAX_PENDING = 50_000

/**
 * The per-task Redis work of the worker (is it revoked, mark it STARTED, store its state), gathered per
 * event-loop turn into one run of task-states.lua. Each was its own command before: at 100 handlers that is
 * hundreds of commands per turn, and the client's cost per command (not Redis, not the network: auto-pipelining
 * already shares the writes) was the largest part of the worker's CPU. Each call still resolves only once Redis
 * ran its operation. On a Cluster the operations of one run must share a hash slot, so they are grouped by slot
 * (standalone and Sentinel: one group).
 */
export function createTaskStates(redis: RedisClient) {
  const onCluster = redis instanceof Cluster
  const batcher = createTurnBatcher<number, Item, boolean>({
    maxBatch: MAX_BATCH,
    maxPending: MAX_PENDING,
    async send(_slot, items) {
      const keys: string[] = [String(items.length)]
      const args: string[] = [String(RESULT_EXPIRES_SECONDS)]
      for (const item of items) {
        keys.push(item.key)
        args.push(item.op, item.json)
      }
      const done = await callScript<number[]>(redis, 'taskStates', keys, args)
      return done.map((n) => n === 1)
    },
  })
  const add = (op: Operation, key: string, json: string) =>
    batcher.add(onCluster ? calculateSlot(key) : 0, { op, key, json })

  return {
    /** True when the key (a revoked id's) exists. */
    exists: (key: string) => add('revoked', key, ''),
    /** Writes STARTED unless the task already succeeded: false then. */
    start: (key: string, json: string) => add('start', key, json),
    /** SETEX + PUBLISH, as Celery's Redis result backend writes a state. */
    store: (key: string, json: string) => add('store', key, json).then(() => undefined),
  }
}

export type TaskStates = ReturnType<typeof createTaskStates>
