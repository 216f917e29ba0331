import { status } from '@grpc/grpc-js'
import { Counter, Gauge, Histogram } from 'prom-client'
import type { Metrics } from '../infra/metrics.ts'
import { statusName } from './status.ts'

export interface CallMetrics {
  received(): void
  sent(): void
  /** Idempotent: the first status wins (a stream can be ended by us, then see its 'close'). */
  finish(code: status): void
}

/**
 * gRPC metrics on the app's registry: calls, messages, durations (a stream's whole life) and errors by status,
 * per method. Messages are counted in plain numbers and handed to Prometheus when it scrapes: a Counter.inc()
 * per message would cost a label hash per message on the hot path.
 */
export function createGrpcMetrics(metrics: Metrics) {
  const registers = [metrics.registry]
  const tally = new Map<string, { received: number; sent: number }>()
  const flushed = (key: 'received' | 'sent') =>
    function (this: Counter<'method'>) {
      for (const [method, counts] of tally) {
        if (counts[key] > 0) this.inc({ method }, counts[key])
        counts[key] = 0
      }
    }
  const calls = new Counter({
    name: 'hotspot_grpc_calls_total',
    help: 'gRPC calls started, by method',
    labelNames: ['method'] as const,
    registers,
  })
  new Counter({
    name: 'hotspot_grpc_messages_received_total',
    help: 'gRPC messages received, by method',
    labelNames: ['method'] as const,
    registers,
    collect: flushed('received'),
  })
  new Counter({
    name: 'hotspot_grpc_messages_sent_total',
    help: 'gRPC messages sent, by method',
    labelNames: ['method'] as const,
    registers,
    collect: flushed('sent'),
  })
  const errors = new Counter({
    name: 'hotspot_grpc_errors_total',
    help: 'gRPC calls that ended with a status other than OK, by method and status code',
    labelNames: ['method', 'code'] as const,
    registers,
  })
  const duration = new Histogram({
    name: 'hotspot_grpc_call_duration_seconds',
    help: 'gRPC call durations; for streams, from open to close',
    labelNames: ['method'] as const,
    buckets: [0.001, 0.005, 0.025, 0.1, 0.5, 2.5, 10, 60, 300, 1800],
    registers,
  })
  const active = new Gauge({
    name: 'hotspot_grpc_active_calls',
    help: 'gRPC calls (open streams included) in progress, by method',
    labelNames: ['method'] as const,
    registers,
  })

  /** Metrics of one method; its label children are made once, not per call. */
  function forMethod(method: string) {
    const counts = { received: 0, sent: 0 }
    tally.set(method, counts)
    const callCount = calls.labels(method)
    const open = active.labels(method)
    const timer = duration.labels(method)
    return {
      start(): CallMetrics {
        callCount.inc()
        open.inc()
        const stop = timer.startTimer()
        let finished = false
        return {
          received: () => {
            counts.received++
          },
          sent: () => {
            counts.sent++
          },
          finish(code) {
            if (finished) return
            finished = true
            stop()
            open.dec()
            if (code !== status.OK) errors.inc({ method, code: statusName(code) })
          },
        }
      },
    }
  }

  return { forMethod }
}

export type GrpcMetrics = ReturnType<typeof createGrpcMetrics>
export type MethodMetrics = ReturnType<GrpcMetrics['forMethod']>
