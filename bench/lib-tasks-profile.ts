/**
 * Where hotspot's worker time goes, for `bench/tasks.ts`: reads the V8 CPU profile (`node --cpu-prof`) a drain
 * run wrote and cuts it to the measured span (the run reports it in process.hrtime µs, V8's sample clock), with
 * the task system's own code split by part. Shares are of busy samples; µs per task = the run's CPU per task
 * times the share.
 */
import fs from 'node:fs'
import path from 'node:path'
import { type Rule, readProfile, summarise } from './lib-profile.ts'
import type { ContenderReport } from './servers/tasks-support.ts'

const TASK_RULES: Rule[] = [
  [/\/(src|dist)\/tasks\/broker\/redis\//, 'tasks: Redis broker (kombu transport)'],
  [/\/(src|dist)\/tasks\/broker\/amqp/, 'tasks: RabbitMQ broker'],
  [/\/(src|dist)\/infra\/(amqp|amqp-coalesce)\.(ts|js)/, 'tasks: RabbitMQ broker'],
  [
    /\/(src|dist)\/tasks\/(message|result-meta)\.(ts|js)/,
    'tasks: Celery codec (task decode/encode, result JSON)',
  ],
  [/\/(src|dist)\/tasks\/(results|producer)\.(ts|js)/, 'tasks: result backend + producer'],
  [/\/(src|dist)\/tasks\/worker\.(ts|js)/, 'tasks: worker (handle, outcome)'],
  [/\/(src|dist)\/tasks\//, 'tasks: other (events, metrics, revoked, rate limit)'],
  [/\/(src|dist)\/infra\/turn-batcher\.(ts|js)/, 'tasks: ack batching (turn batcher)'],
  [/node_modules\/tsx\//, 'tsx loader (source maps, keep-names)'],
]

const pctOf = (share: number) => `${(share * 100).toFixed(1)} %`

export function profileLines(dir: string, run: ContenderReport, label: string): string[] {
  const file = fs.existsSync(dir) ? fs.readdirSync(dir).find((f) => f.endsWith('.cpuprofile')) : undefined
  if (!file || !run.windowUs) return ['## Profile', '', `No CPU profile was written for ${label}.`, '']
  const summary = summarise(
    readProfile(path.join(dir, file)),
    run.windowUs[0],
    run.windowUs[1],
    15,
    TASK_RULES,
  )
  const usPerTask = ((run.cpuMs ?? 0) / run.tasks) * 1000
  const lines = [
    `## Profile: where the time of ${label} goes`,
    '',
    `node --cpu-prof, ${run.tasks} tasks, the measured span only (${summary.busySamples} busy samples); the worker`,
    `used ${usPerTask.toFixed(1)} µs of CPU per task in this (profiled, so slower) run.`,
    '',
    '| part | share of busy samples | µs per task |',
    '|---|---|---|',
    ...summary.categories.map(
      ([name, share]) => `| ${name} | ${pctOf(share)} | ${(share * usPerTask).toFixed(1)} |`,
    ),
    '',
    'Functions with the most self time:',
    '',
    '| function | share |',
    '|---|---|',
    ...summary.topFunctions.map(([name, share]) => `| \`${name.replace(/\|/g, '\\|')}\` | ${pctOf(share)} |`),
    '',
  ]
  return lines
}
