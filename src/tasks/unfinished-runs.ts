import type { RedisClient } from '../infra/redis.ts'
import type { BrokerMessage } from './broker/types.ts'

/** How long the count of a message's unfinished runs is kept: far longer than any redelivery takes. */
const KEEP_SECONDS = 86_400

/**
 * Runs of a redelivered task message that never finished. A worker that dies mid-task (out of memory, a native
 * crash, kill -9 on a hang) leaves its message to the broker, which hands it to the next worker: a message that
 * kills every worker it reaches would loop forever. Classic RabbitMQ queues and kombu's Redis transport count
 * nothing, so the worker does, here: only redelivered messages (a first delivery costs no Redis call), per task
 * id and retry (a retry is a fresh message), until one run finishes.
 */
export function createUnfinishedRuns(redis: RedisClient, prefix: string) {
  const key = (taskId: string, retries: number) => `${prefix}:unfinished:{${taskId}}:${retries}`
  return {
    /** True when the broker says this message was delivered before (and may have died with its worker). */
    isRedelivery(msg: BrokerMessage): boolean {
      const counted = msg.headers?.['x-delivery-count']
      return msg.redelivered || (typeof counted === 'number' && counted > 0)
    },

    /** Counts a run about to start; returns the runs before it that never finished, this one included. */
    async start(taskId: string, retries: number): Promise<number> {
      const results = await redis
        .multi()
        .incr(key(taskId, retries))
        .expire(key(taskId, retries), KEEP_SECONDS)
        .exec()
      const [error, count] = results?.[0] ?? [new Error('MULTI was discarded'), 0]
      if (error) throw error
      return Number(count)
    },

    /** The run finished (whatever its outcome): the count starts again. */
    async finish(taskId: string, retries: number): Promise<void> {
      await redis.del(key(taskId, retries))
    },
  }
}
