import { ConfigError, type Env, integer } from '../config.ts'

/** Domain events' settings (DOMAIN_EVENTS_*), validated with the rest of the configuration at start. */
export interface DomainEventsConfig {
  /** The durable topic exchange (RabbitMQ), or the streams' name prefix (Redis-only deployment). */
  exchange: string
  /** Events published per batch. */
  batchSize: number
  /** Sleep of an idle drainer between looks at the outbox. */
  pollMs: number
  /** How long an aggregated item.viewed row waits after its second for other processes' parts. */
  settleMs: number
  /** A confirm not received within this fails the event's attempt. */
  confirmTimeoutMs: number
  retryBaseMs: number
  retryMaxMs: number
  /** Refusals by a broker that is up after which an event is parked (kept, never retried). */
  maxAttempts: number
  /** Redis streams: MAXLEN ~ of each. */
  streamMaxLen: number
}

export function loadDomainEventsConfig(env: Env): DomainEventsConfig {
  const exchange = env.DOMAIN_EVENTS_EXCHANGE?.trim() || 'hotspot.domain'
  if (!/^[A-Za-z0-9._:-]{1,200}$/.test(exchange))
    throw new ConfigError('DOMAIN_EVENTS_EXCHANGE', `letters, digits and . _ : - only, got "${exchange}"`)
  return {
    exchange,
    batchSize: integer(env, 'DOMAIN_EVENTS_BATCH', 200, 1, 10_000),
    pollMs: integer(env, 'DOMAIN_EVENTS_POLL_MS', 500, 10, 60_000),
    settleMs: integer(env, 'DOMAIN_EVENTS_VIEWS_SETTLE_MS', 2000, 0, 60_000),
    confirmTimeoutMs: integer(env, 'DOMAIN_EVENTS_CONFIRM_TIMEOUT_MS', 10_000, 100, 120_000),
    retryBaseMs: integer(env, 'DOMAIN_EVENTS_RETRY_BASE_MS', 1000, 10, 600_000),
    retryMaxMs: integer(env, 'DOMAIN_EVENTS_RETRY_MAX_MS', 60_000, 10, 3_600_000),
    maxAttempts: integer(env, 'DOMAIN_EVENTS_MAX_ATTEMPTS', 20, 1, 1_000_000),
    streamMaxLen: integer(env, 'DOMAIN_EVENTS_STREAM_MAXLEN', 1_000_000, 100, 1_000_000_000),
  }
}
