import { Counter, Histogram, type Registry } from 'prom-client'

function once<M>(registry: Registry, name: string, make: () => M): M {
  return (registry.getSingleMetric(name) as M | undefined) ?? make()
}

/**
 * The cache's counters, labelled by cache name (several caches share one registry). Label children are bound
 * once here: prom-client would hash the labels on every hit otherwise.
 */
export function createCacheMetrics(registry: Registry, cache: string) {
  const registers = [registry]
  const hits = once(
    registry,
    'hotspot_cache_hits_total',
    () =>
      new Counter({
        name: 'hotspot_cache_hits_total',
        help: 'Fresh values served, by layer (l1 = this process, redis)',
        labelNames: ['cache', 'layer'] as const,
        registers,
      }),
  )
  const misses = once(
    registry,
    'hotspot_cache_misses_total',
    () =>
      new Counter({
        name: 'hotspot_cache_misses_total',
        help: 'Reads that found no usable value and waited for a load',
        labelNames: ['cache'] as const,
        registers,
      }),
  )
  const stale = once(
    registry,
    'hotspot_cache_stale_total',
    () =>
      new Counter({
        name: 'hotspot_cache_stale_total',
        help: 'Values served past their TTL, within grace (while refreshing, or while SQL is down)',
        labelNames: ['cache'] as const,
        registers,
      }),
  )
  const loads = once(
    registry,
    'hotspot_cache_loads_total',
    () =>
      new Counter({
        name: 'hotspot_cache_loads_total',
        help: 'Loader runs (SQL reads), by outcome',
        labelNames: ['cache', 'outcome'] as const,
        registers,
      }),
  )
  const loadSeconds = once(
    registry,
    'hotspot_cache_load_duration_seconds',
    () =>
      new Histogram({
        name: 'hotspot_cache_load_duration_seconds',
        help: 'Loader latency',
        labelNames: ['cache'] as const,
        buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
        registers,
      }),
  )
  const invalidations = once(
    registry,
    'hotspot_cache_invalidations_total',
    () =>
      new Counter({
        name: 'hotspot_cache_invalidations_total',
        help: 'Keys invalidated: by a write in this process (local) or a broadcast from another (remote)',
        labelNames: ['cache', 'source'] as const,
        registers,
      }),
  )
  const timeouts = once(
    registry,
    'hotspot_cache_load_timeouts_total',
    () =>
      new Counter({
        name: 'hotspot_cache_load_timeouts_total',
        help: 'Reads that stopped waiting for a load: soft (served stale) or hard (503, nothing stale)',
        labelNames: ['cache', 'kind'] as const,
        registers,
      }),
  )
  return {
    hitL1: hits.labels(cache, 'l1'),
    hitRedis: hits.labels(cache, 'redis'),
    miss: misses.labels(cache),
    stale: stale.labels(cache),
    loadOk: loads.labels(cache, 'ok'),
    loadFailed: loads.labels(cache, 'error'),
    loadSeconds: loadSeconds.labels(cache),
    invalidatedLocal: invalidations.labels(cache, 'local'),
    invalidatedRemote: invalidations.labels(cache, 'remote'),
    softTimeouts: timeouts.labels(cache, 'soft'),
    hardTimeouts: timeouts.labels(cache, 'hard'),
  }
}

export type CacheMetrics = ReturnType<typeof createCacheMetrics>
