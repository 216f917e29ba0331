/**
 * A hotspot worker in a process of its own, so a test can `kill -9` it. Its task `test.effect` counts every run
 * and applies its effect idempotently (HSETNX): at-least-once delivery, exactly-once effect. `test.crash` kills
 * the worker process that runs it.
 */
import { createApp } from '../../../src/app.ts'
import { loadConfig } from '../../../src/config.ts'
import { createLogger } from '../../../src/infra/logger.ts'

const prefix = process.env.KEY_PREFIX as string
const app = await createApp({
  config: loadConfig(),
  redisUrl: process.env.REDIS_URL as string,
  amqpUrl: process.env.AMQP_URL as string,
  adminToken: 'worker-process-token-0123456789',
  log: createLogger('warn'),
  keyPrefix: prefix,
})
// HANG=1: the task never finishes here (a test kills this process mid-task).
const hang = process.env.HANG === '1'
app.tasks.registry.register('test.effect', async (_args, _kwargs, ctx) => {
  await app.redis.hincrby(`${prefix}:runs`, ctx.taskId, 1)
  if (hang) await new Promise(() => {})
  await new Promise((r) => setTimeout(r, 3))
  await app.redis.hsetnx(`${prefix}:effects`, ctx.taskId, String(process.pid))
  return 'done'
})
// A task that kills the process running it, as an out-of-memory or native crash would: every run dies mid-task.
app.tasks.registry.register('test.crash', async (_args, _kwargs, ctx) => {
  await app.redis.hincrby(`${prefix}:runs`, ctx.taskId, 1)
  process.kill(process.pid, 'SIGKILL')
  await new Promise(() => {})
})
await app.start(['worker'])
process.stdout.write('ready\n')
process.once('SIGTERM', async () => {
  await app.close()
  process.exit(0)
})
