import { Counter, Histogram, type Registry } from 'prom-client'
import type { Metrics } from '../infra/metrics.ts'

/**
 * A per-task counter for the counts every task makes (received, succeeded, sent): the increments wait in a Map
 * until something reads the counter (prom-client runs `collect` before every read: a scrape, the admin page).
 * prom-client hashes the labels of each `inc`, and a worker would pay that several times per task.
 */
function perTaskCounter(name: string, help: string, registers: Registry[]) {
  const pending = new Map<string, number>()
  const counter: Counter = new Counter({
    name,
    help,
    labelNames: ['task'],
    registers,
    collect() {
      for (const [task, n] of pending) counter.inc({ task }, n)
      pending.clear()
    },
  })
  return {
    inc(labels: { task: string }) {
      pending.set(labels.task, (pending.get(labels.task) ?? 0) + 1)
    },
  }
}

export function createTaskMetrics(metrics: Metrics) {
  const registers = [metrics.registry]
  const counter = (name: string, help: string, labelNames: string[] = ['task']) =>
    new Counter({ name, help, labelNames, registers })
  return {
    received: perTaskCounter(
      'hotspot_tasks_received_total',
      'Task messages received by this worker',
      registers,
    ),
    succeeded: perTaskCounter('hotspot_tasks_succeeded_total', 'Tasks that succeeded', registers),
    failed: counter('hotspot_tasks_failed_total', 'Tasks that failed for good'),
    retried: counter('hotspot_tasks_retried_total', 'Task retries scheduled'),
    revoked: counter('hotspot_tasks_revoked_total', 'Tasks not run because they expired'),
    deadLettered: counter('hotspot_tasks_dead_lettered_total', 'Messages sent to the dead-letter queue', [
      'reason',
    ]),
    sent: perTaskCounter('hotspot_tasks_sent_total', 'Tasks published by this process', registers),
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
