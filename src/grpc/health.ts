import { HealthImplementation, type ServingStatus } from 'grpc-health-check'
import type { Check } from '../infra/ops-routes.ts'

/** What each service needs to answer; '' is the whole server (the standard health service's convention). */
const NEEDS: Record<string, string[] | 'all'> = {
  '': 'all',
  'schema.Gateway': [],
  'hotspot.v1.Views': ['redis'],
  'hotspot.v1.Tasks': ['redis', 'amqp', 'broker'],
}
const CHECK_TIMEOUT_MS = 2000

/**
 * The standard `grpc.health.v1.Health` service, fed by the same checks as /readyz run every `intervalMs`:
 * a service is NOT_SERVING while a server it needs (Redis, RabbitMQ) is down, and all are once stopping.
 */
export function createHealth(checks: Record<string, Check>, intervalMs: number) {
  const implementation = new HealthImplementation(
    Object.fromEntries(Object.keys(NEEDS).map((service) => [service, 'NOT_SERVING' as ServingStatus])),
  )
  let timer: NodeJS.Timeout | undefined
  let stopped = false

  const run = (check: Check) =>
    Promise.race([
      check().catch(() => false),
      new Promise<boolean>((resolve) => setTimeout(() => resolve(false), CHECK_TIMEOUT_MS).unref()),
    ])

  async function refresh(): Promise<void> {
    const names = Object.keys(checks)
    const results = await Promise.all(names.map((name) => run(checks[name] as Check)))
    if (stopped) return
    const ok = new Set(names.filter((_, i) => results[i]))
    for (const [service, needs] of Object.entries(NEEDS)) {
      const serving = (needs === 'all' ? names : needs.filter((n) => n in checks)).every((n) => ok.has(n))
      implementation.setStatus(service, serving ? 'SERVING' : 'NOT_SERVING')
    }
  }

  return {
    implementation,
    async start(): Promise<void> {
      stopped = false
      await refresh()
      const loop = () => {
        timer = setTimeout(() => void refresh().finally(() => !stopped && loop()), intervalMs)
        timer.unref()
      }
      loop()
    },
    stop(): void {
      stopped = true
      clearTimeout(timer)
      for (const service of Object.keys(NEEDS)) implementation.setStatus(service, 'NOT_SERVING')
    },
  }
}
