import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client'

/**
 * One registry per app instance (tests build several apps in one process); features register their own
 * counters on it through `metrics.registry`.
 */
export function createMetrics() {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry })
  const httpDuration = new Histogram({
    name: 'hotspot_http_request_duration_seconds',
    help: 'HTTP request latency by route and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  })
  const counter = <L extends string>(name: string, help: string, labelNames: readonly L[] = []) =>
    new Counter({ name, help, labelNames, registers: [registry] })
  return { registry, httpDuration, counter }
}

export type Metrics = ReturnType<typeof createMetrics>
