// hotspot's real API and gRPC server in one process (createApp, the roles `hotspot start` runs for these two),
// on the bench's private servers: GRPC_PORT for gRPC, PORT for HTTP.
import { createApp } from '../../src/app.ts'
import { loadConfig } from '../../src/config.ts'
import { createLogger } from '../../src/infra/logger.ts'

const config = loadConfig()
const log = createLogger(config.logLevel)
const app = await createApp({
  config,
  redisUrl: config.redisUrl as string,
  amqpUrl: config.amqpUrl as string,
  adminToken: process.env.HOTSPOT_ADMIN_TOKEN as string,
  log,
})
await app.prepare()
await app.start(['api', 'grpc'])
await app.http.listen({ port: config.port, host: '127.0.0.1' })
process.once('SIGTERM', async () => {
  await app.close()
  process.exit(0)
})
