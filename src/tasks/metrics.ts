import { Counter, Histogram } from 'prom-client'
import type { Metrics } from '../infra/metrics.ts'

export function createTaskMetrics(metrics: Metrics) {
  const registers = [metrics.registry]
  const counter = (name: string, help: string, labelNames: string[] = ['task']) =>
    new Counter({ name, help, labelNames, registers })
  return {
    received: counter('hotspot_tasks_received_total', 'Task messages received by this worker'),
    succeeded: counter('hotspot_tasks_succeeded_total', 'Tasks that succeeded'),
    failed: counter('hotspot_tasks_failed_total', 'Tasks that failed for good'),
    retried: counter('hotspot_tasks_retried_total', 'Task retries scheduled'),
    revoked: counter('hotspot_tasks_revoked_total', 'Tasks not run because they expired'),
    deadLettered: counter('hotspot_tasks_dead_lettered_total', 'Messages sent to the dead-letter queue', [
      'reason',
    ]),
    sent: counter('hotspot_tasks_sent_total', 'Tasks published by this process'),
    duration: new Histogram({
      name: 'hotspot_task_duration_seconds',
      help: 'Task handler run time',
      labelNames: ['task'],
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30],
      registers,
    }),
  }
}

export type TaskMetrics = ReturnType<typeof createTaskMetrics>
