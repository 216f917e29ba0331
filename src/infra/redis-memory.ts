/**
 * Redis memory and eviction as `INFO` reports them (CONFIG GET is often disabled on managed Redis; INFO is not),
 * and what they mean for hotspot: `hotspot doctor` words the judgement, `/metrics` exports the figures.
 */
import { Cluster } from 'ioredis'
import type { RedisClient } from './redis.ts'

export interface RedisMemory {
  usedBytes: number
  /** 0 = no limit. */
  maxBytes: number
  policy: string
  /** Keys the server evicted since it started (INFO stats `evicted_keys`). */
  evictedKeys: number
}

/** The Redis a client writes to: every master of a Cluster, else the one node (the master through Sentinel). */
function writableNodes(client: RedisClient) {
  return client instanceof Cluster ? client.nodes('master') : [client]
}

function field(info: string, name: string): string | undefined {
  return new RegExp(`^${name}:(.*)$`, 'm').exec(info)?.[1]?.trim()
}

export function parseMemory(info: string): RedisMemory {
  return {
    usedBytes: Number(field(info, 'used_memory') ?? 0),
    maxBytes: Number(field(info, 'maxmemory') ?? 0),
    policy: field(info, 'maxmemory_policy') ?? 'unknown',
    evictedKeys: Number(field(info, 'evicted_keys') ?? 0),
  }
}

/** One entry per writable node (a Cluster's masters); each INFO bounded by the client's command timeout. */
export async function readMemory(client: RedisClient): Promise<RedisMemory[]> {
  return Promise.all(
    writableNodes(client).map(async (node) => {
      const [memory, stats] = await Promise.all([node.info('memory'), node.info('stats')])
      return parseMemory(`${memory}\n${stats}`)
    }),
  )
}

export interface MemoryJudgement {
  ok: boolean
  detail: string
}

const FULL_RATIO = 0.8
const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`

/**
 * What a node's policy can evict. `state`: the main Redis (counts, rankings, limiter windows, stock, codes and the
 * cache unless CACHE_REDIS_URL moves it); `cache`: CACHE_REDIS_URL's, where anything may go. Kept pure for tests.
 */
export function judgePolicy(role: 'state' | 'cache', m: RedisMemory): MemoryJudgement {
  if (role === 'cache') {
    return m.policy === 'noeviction' && m.maxBytes > 0
      ? {
          ok: true,
          detail: `maxmemory-policy noeviction: once ${mb(m.maxBytes)} are used cache fills fail and reads go to SQL (allkeys-lfu suits a cache Redis)`,
        }
      : { ok: true, detail: `maxmemory-policy ${m.policy}: only cache entries live here, any of them may go` }
  }
  if (m.policy.startsWith('allkeys-'))
    return {
      ok: false,
      detail: `maxmemory-policy ${m.policy} can evict any key when memory runs out: view counts, rankings, limiter windows, seckill stock and codes among them. Set volatile-lfu or noeviction, and give the cache a Redis of its own (CACHE_REDIS_URL) with allkeys-lfu`,
    }
  if (m.maxBytes === 0)
    return { ok: true, detail: `no maxmemory: nothing is evicted, Redis grows until the machine runs out` }
  if (m.policy === 'noeviction')
    return {
      ok: true,
      detail: `maxmemory-policy noeviction: nothing is evicted; once ${mb(m.maxBytes)} are used writes fail (503)`,
    }
  return {
    ok: true,
    detail: `maxmemory-policy ${m.policy}: only keys with a TTL can be evicted (cache entries, but also limiter windows, codes, locks and day/week rankings); counts, the all-time ranking and stock never. With CACHE_REDIS_URL and noeviction here nothing of hotspot's state can be evicted`,
  }
}

export function judgeUsage(m: RedisMemory): MemoryJudgement {
  if (m.maxBytes === 0) return { ok: true, detail: `${mb(m.usedBytes)} used, no maxmemory set` }
  const ratio = m.usedBytes / m.maxBytes
  const used = `${mb(m.usedBytes)} of maxmemory ${mb(m.maxBytes)} used (${Math.round(ratio * 100)} %)`
  return ratio > FULL_RATIO
    ? {
        ok: false,
        detail: `${used}: above ${FULL_RATIO * 100} %, raise maxmemory or add memory before it evicts`,
      }
    : { ok: true, detail: used }
}
