import { Gauge } from 'prom-client'
import type { Metrics } from './metrics.ts'
import type { RedisClient } from './redis.ts'
import { type RedisMemory, readMemory } from './redis-memory.ts'

/**
 * `/metrics`: each Redis's memory use, its maxmemory and the keys it evicted, read from INFO at scrape time
 * (`redis="main"` or `"cache"`; a Cluster's masters summed). A Redis that is not connected is left out of the
 * scrape rather than failing it.
 */
export function redisMemoryMetrics(metrics: Metrics, clients: Record<string, RedisClient>): void {
  const read = async () => {
    const out: [string, RedisMemory][] = []
    await Promise.all(
      Object.entries(clients).map(async ([name, client]) => {
        if (client.status !== 'ready') return
        const nodes = await readMemory(client).catch(() => undefined)
        if (!nodes) return
        out.push([
          name,
          nodes.reduce(
            (sum, m) => ({
              usedBytes: sum.usedBytes + m.usedBytes,
              maxBytes: sum.maxBytes + m.maxBytes,
              policy: m.policy,
              evictedKeys: sum.evictedKeys + m.evictedKeys,
            }),
            { usedBytes: 0, maxBytes: 0, policy: '', evictedKeys: 0 },
          ),
        ])
      }),
    )
    return out
  }
  // One INFO round per scrape, shared by the three gauges (prom-client collects them one after another).
  let pending: Promise<[string, RedisMemory][]> | undefined
  const once = () => {
    pending ??= read().finally(() => setTimeout(() => (pending = undefined), 0))
    return pending
  }
  const gauge = (name: string, help: string, pick: (m: RedisMemory) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ['redis'] as const,
      registers: [metrics.registry],
      async collect() {
        this.reset()
        for (const [redis, m] of await once()) this.set({ redis }, pick(m))
      },
    })
  gauge(
    'hotspot_redis_used_memory_bytes',
    'Memory the Redis server uses (INFO used_memory)',
    (m) => m.usedBytes,
  )
  gauge('hotspot_redis_maxmemory_bytes', 'The Redis server maxmemory (0 = no limit)', (m) => m.maxBytes)
  gauge(
    'hotspot_redis_evicted_keys',
    'Keys the Redis server evicted since it started (INFO evicted_keys)',
    (m) => m.evictedKeys,
  )
}
