import type { Redis } from 'ioredis'
import { Gauge } from 'prom-client'
import type { Connection } from 'rabbitmq-client'
import type { Feature, FeatureContext } from '../feature.ts'
import { createDrainer } from './drain.ts'
import { createOutbox } from './outbox.ts'
import { amqpSink, type EventSink, redisSink } from './sinks.ts'
import type { DomainEventSink } from './types.ts'
import { createViewAggregator } from './views.ts'

export type { DomainEventSink, Fact } from './types.ts'

export interface DomainEventsFeature extends Feature {
  /** What other features get: `publish(trx, fact)` inside the fact's transaction. */
  events: DomainEventSink
  /** The worker role: drains the outbox to the broker until stopped. */
  startDrain(): void
}

/**
 * Domain events for services that are not hotspot: a transactional outbox in SQL, drained by the worker role to
 * the durable topic exchange `hotspot.domain` (or, on a Redis-only deployment, to one Redis stream per
 * routing-key prefix). docs/events.md is the consumers' contract.
 */
export function createDomainEventsFeature(
  ctx: Pick<FeatureContext, 'config' | 'db' | 'log' | 'metrics'>,
  deps: { amqp: Connection | undefined; brokerRedis: Redis | undefined },
): DomainEventsFeature {
  const settings = ctx.config.domainEvents
  const outbox = createOutbox(ctx.db)
  const published = ctx.metrics.counter(
    'hotspot_domain_events_published_total',
    'Domain events the broker confirmed',
    ['type'],
  )
  const failed = ctx.metrics.counter(
    'hotspot_domain_events_publish_failures_total',
    'Domain event publishes the broker did not confirm (retried later)',
  )
  let lastDepth = { pending: 0, parked: 0 }
  new Gauge({
    name: 'hotspot_domain_events_outbox_depth',
    help: 'Domain events waiting in the SQL outbox (state=pending), or parked after too many refusals',
    labelNames: ['state'] as const,
    registers: [ctx.metrics.registry],
    async collect() {
      // SQL down: the last known depth, rather than failing the whole scrape.
      lastDepth = await outbox.depth().catch(() => lastDepth)
      this.set({ state: 'pending' }, lastDepth.pending)
      this.set({ state: 'parked' }, lastDepth.parked)
    },
  })

  const views = createViewAggregator({ outbox, log: ctx.log, settleMs: settings.settleMs })
  let sink: EventSink | undefined
  let drain: { stop(): Promise<void> } | undefined

  return {
    name: 'domain-events',
    events: { publish: (trx, fact) => outbox.record(trx, fact), viewed: views.viewed },
    startDrain() {
      if (drain) return
      sink = deps.amqp
        ? amqpSink(deps.amqp, settings.exchange, settings.confirmTimeoutMs)
        : deps.brokerRedis
          ? redisSink(deps.brokerRedis, settings.exchange, settings.streamMaxLen)
          : undefined
      if (!sink) throw new Error('domain events need a broker: AMQP_URL or BROKER_URL=redis://')
      drain = createDrainer({
        outbox,
        sink,
        log: ctx.log,
        batchSize: settings.batchSize,
        leaseMs: settings.confirmTimeoutMs * 3,
        idleMs: settings.pollMs,
        retryBaseMs: settings.retryBaseMs,
        retryMaxMs: settings.retryMaxMs,
        maxAttempts: settings.maxAttempts,
        onPublished: (events) => {
          for (const event of events) published.inc({ type: event.type })
        },
        onFailed: (count) => failed.inc(count),
      }).start()
    },
    async stop() {
      await views.stop().catch((error) => ctx.log.warn({ err: error }, 'item.viewed events not written'))
      await drain?.stop()
      await sink?.close()
    },
  }
}
