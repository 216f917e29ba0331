// hotspot's API and task worker in one process (as `hotspot start` runs them), on the bench's private servers.
import { createApp } from '../../src/app.ts'
import { loadConfig } from '../../src/config.ts'
import { createLogger } from '../../src/infra/logger.ts'

const config = loadConfig()
const app = await createApp({
  config,
  redisUrl: config.redisUrl as string,
  amqpUrl: config.amqpUrl as string,
  adminToken: process.env.HOTSPOT_ADMIN_TOKEN as string,
  // `error`: wrk ends a run by closing connections with requests in flight, and each of those aborted bodies
  // would log a warning.
  log: createLogger('error'),
})
await app.prepare()
await app.start(['api', 'worker'])
await app.http.listen({ port: config.port, host: '127.0.0.1' })
process.once('SIGTERM', async () => {
  await app.close()
  process.exit(0)
})
