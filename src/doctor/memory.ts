import type { RedisClient } from '../infra/redis.ts'
import { judgePolicy, judgeUsage, readMemory } from '../infra/redis-memory.ts'
import type { CheckResult } from './checks.ts'

/** Eviction policy and memory use of each writable node: `state` for REDIS_URL, `cache` for CACHE_REDIS_URL. */
export async function checkMemory(redis: RedisClient, role: 'state' | 'cache'): Promise<CheckResult[]> {
  const nodes = await readMemory(redis)
  const label = role === 'cache' ? 'cache redis' : 'redis'
  return nodes.flatMap((m, i) => {
    const suffix = nodes.length > 1 ? ` (master ${i + 1})` : ''
    return [
      { name: `${label} eviction${suffix}`, ...judgePolicy(role, m) },
      { name: `${label} memory${suffix}`, ...judgeUsage(m) },
    ]
  })
}
