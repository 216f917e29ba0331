import { type ChildProcess, spawn } from 'node:child_process'
import { inject } from 'vitest'
import type { TestApp } from '../../support/app.ts'

/**
 * Runs worker-process.ts (a real worker whose `test.effect` counts runs and sets its effect with HSETNX) in a
 * process of its own on the test app's Redis prefix, database and queues; resolves once it consumes. `env` adds
 * to or overrides its environment.
 */
export function startWorkerProcess(
  app: TestApp,
  amqpUrl: string,
  env: Record<string, string> = {},
): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/tasks/support/worker-process.ts'], {
    env: {
      ...process.env,
      KEY_PREFIX: app.prefix,
      REDIS_URL: inject('redisUrl'),
      AMQP_URL: amqpUrl,
      DATABASE_URL: app.config.databaseUrl,
      CELERY_DEFAULT_QUEUE: app.config.tasks.defaultQueue,
      HOTSPOT_TASK_QUEUE: app.config.tasks.ownQueue,
      LOG_LEVEL: 'warn',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  return new Promise((resolve, reject) => {
    child.stdout?.on('data', (d: Buffer) => {
      if (d.toString().includes('ready')) resolve(child)
    })
    child.once('exit', (code) => reject(new Error(`worker exited with ${code}`)))
  })
}
