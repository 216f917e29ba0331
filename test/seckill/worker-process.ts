/**
 * A hotspot worker in a process of its own (the app exactly as `hotspot worker` builds it), so a test can
 * `kill -9` it in the middle of the order tasks.
 */
import { createApp } from '../../src/app.ts'
import { loadConfig } from '../../src/config.ts'
import { createLogger } from '../../src/infra/logger.ts'

const app = await createApp({
  config: loadConfig(),
  redisUrl: process.env.REDIS_URL as string,
  amqpUrl: process.env.AMQP_URL, // unset: Redis-only (BROKER_URL=redis://)
  adminToken: 'worker-process-token-0123456789',
  log: createLogger('warn'),
  keyPrefix: process.env.KEY_PREFIX as string,
})
await app.start(['worker'])
process.stdout.write('ready\n')
process.once('SIGTERM', async () => {
  await app.close()
  process.exit(0)
})
