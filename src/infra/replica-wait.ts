/**
 * REDIS_WAIT_REPLICAS: after a write that must survive a fail-over (views, seckill admissions, limiter takes,
 * verification codes) hotspot sends Redis `WAIT n timeout` on the same connection and answers only once n
 * replicas have the write. Fewer in time → the request fails with 503 (its write may or may not survive).
 * The setting travels with the client (a WeakMap) so the features need one call, not a new option each.
 */
import type { RedisClient } from './redis.ts'

interface WaitSetting {
  replicas: number
  timeoutMs: number
}

const settings = new WeakMap<RedisClient, WaitSetting>()

export class ReplicaWaitError extends Error {
  override name = 'ReplicaWaitError'
}

/** Arms WAIT for a client; `replicas` 0 leaves it off. The WAIT's timeout must end before the command timeout. */
export function waitForReplicas(client: RedisClient, replicas: number, timeoutMs: number): void {
  if (replicas > 0) settings.set(client, { replicas, timeoutMs })
  else settings.delete(client)
}

/** After a write of the caller's on `client`: resolves once the replicas have it (at once when WAIT is off). */
export async function replicated(client: RedisClient): Promise<void> {
  const setting = settings.get(client)
  if (!setting) return
  // WAIT counts the replicas that acknowledged everything this connection wrote so far (one connection per
  // client on a single node or through Sentinel), so one WAIT also covers the writes auto-pipelined before it.
  const acked = await (client as { wait(n: number, t: number): Promise<number> }).wait(
    setting.replicas,
    setting.timeoutMs,
  )
  if (acked < setting.replicas)
    throw new ReplicaWaitError(
      `only ${acked} of ${setting.replicas} Redis replicas acknowledged the write within ${setting.timeoutMs} ms`,
    )
}
