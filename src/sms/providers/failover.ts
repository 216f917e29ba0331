import { Gauge, Histogram } from 'prom-client'
import type { Metrics } from '../../infra/metrics.ts'
import { GatewayError, isFinal, isFinalForMessage } from './errors.ts'
import type { SmsProvider } from './types.ts'

export interface BreakerSettings {
  /** Consecutive failures that open a gateway's breaker. */
  failures: number
  /** How long an open breaker keeps the gateway out before one probe is let through (half-open). */
  openMs: number
}

type BreakerState = 'closed' | 'open' | 'half-open'
const STATE_VALUE: Record<BreakerState, number> = { closed: 0, 'half-open': 1, open: 2 }

/** A circuit breaker per gateway: closed → open after N failures → half-open (one probe) → closed or open. */
function createBreaker(settings: BreakerSettings, onChange: (state: BreakerState) => void) {
  let state: BreakerState = 'closed'
  let failures = 0
  let openedAt = 0
  let probing = false
  const set = (next: BreakerState) => {
    state = next
    onChange(next)
  }
  return {
    /** May a call go to this gateway now? In half-open, only one probe at a time. */
    allow(): boolean {
      if (state === 'open' && Date.now() - openedAt >= settings.openMs) set('half-open')
      if (state === 'closed') return true
      if (state === 'half-open' && !probing) {
        probing = true
        return true
      }
      return false
    },
    success() {
      probing = false
      failures = 0
      if (state !== 'closed') set('closed')
    },
    failure() {
      probing = false
      failures += 1
      if (state === 'half-open' || failures >= settings.failures) {
        openedAt = Date.now()
        set('open')
      }
    },
    get state() {
      return state
    },
  }
}

/**
 * SMS_PROVIDER=a,b: tries each gateway in order, skipping those whose breaker is open; moves on when one is down,
 * throttling or refuses for a reason of its own account (credentials, balance, sender, template); stops at a final
 * refusal of the message itself (wrong number, blocked content: no gateway will do better). Parts a gateway took
 * are recorded through `onPartSent` before the next gateway is tried, so one SMS never goes out through two
 * gateways, and a whole-text gateway never takes over a message another began in parts. Metrics per gateway:
 * sent, failed (by kind), latency, breaker state.
 */
export function createFailoverProvider(
  gateways: SmsProvider[],
  settings: BreakerSettings,
  metrics?: Metrics,
): SmsProvider {
  const sent = metrics?.counter('hotspot_sms_gateway_sent_total', 'SMS handed to a gateway', ['gateway'])
  const failed = metrics?.counter('hotspot_sms_gateway_failed_total', 'SMS a gateway refused or lost', [
    'gateway',
    'kind',
  ])
  const latency = metrics
    ? new Histogram({
        name: 'hotspot_sms_gateway_latency_seconds',
        help: 'Time a gateway took to take (or refuse) an SMS',
        labelNames: ['gateway'],
        buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
        registers: [metrics.registry],
      })
    : undefined
  const breakerGauge = metrics
    ? new Gauge({
        name: 'hotspot_sms_gateway_breaker_state',
        help: 'Circuit breaker per gateway: 0 closed, 1 half-open, 2 open',
        labelNames: ['gateway'],
        registers: [metrics.registry],
      })
    : undefined
  const breakers = new Map(
    gateways.map((g) => {
      breakerGauge?.set({ gateway: g.name }, 0)
      return [g.name, createBreaker(settings, (s) => breakerGauge?.set({ gateway: g.name }, STATE_VALUE[s]))]
    }),
  )

  return {
    name: gateways.map((g) => g.name).join(','),
    async send(sms) {
      const taken = new Set(sms.sentParts ?? [])
      const onPartSent = async (part: number, gateway: string, messageId: string) => {
        taken.add(part)
        await sms.onPartSent?.(part, gateway, messageId)
      }
      let retryable: unknown
      let accountRefusal: unknown
      let skipped = false
      for (const gateway of gateways) {
        const begunInParts = taken.size > 0 && taken.size < sms.parts.length
        const breaker = breakers.get(gateway.name)
        if ((gateway.wholeText && begunInParts) || !breaker?.allow()) {
          skipped = true
          continue
        }
        const started = process.hrtime.bigint()
        try {
          await gateway.send({ ...sms, sentParts: taken, onPartSent })
          latency?.observe({ gateway: gateway.name }, Number(process.hrtime.bigint() - started) / 1e9)
          sent?.inc({ gateway: gateway.name })
          breaker.success()
          return
        } catch (error) {
          latency?.observe({ gateway: gateway.name }, Number(process.hrtime.bigint() - started) / 1e9)
          const kind = error instanceof GatewayError ? error.kind : 'retry'
          failed?.inc({ gateway: gateway.name, kind })
          // A final refusal of the message is about the message, not the gateway being down.
          if (isFinalForMessage(error)) {
            breaker.success()
            throw error
          }
          breaker.failure()
          if (isFinal(error)) accountRefusal = error
          else retryable = error
        }
      }
      // Later may work (a gateway down, throttling or skipped now); only refusals of every account are final.
      if (retryable !== undefined) throw retryable
      if (skipped || accountRefusal === undefined)
        throw new GatewayError('sms', 'retry', 'no gateway can take it now (circuit breakers open)')
      throw accountRefusal
    },
  }
}
