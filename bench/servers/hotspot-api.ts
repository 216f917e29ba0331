// hotspot's real app (createApp, the same code the `hotspot` roles run), on the bench's private servers:
// BENCH_ROLES says which roles this process runs (default `api`; `api,worker` as `hotspot start` runs the
// seckill, `api,grpc` for the gRPC bench, on GRPC_PORT), HTTP on PORT.
import type { Role } from '../../src/app.ts'
import { createApp } from '../../src/app.ts'
import { loadConfig } from '../../src/config.ts'
import { createLogger } from '../../src/infra/logger.ts'

const config = loadConfig()
const roles = (process.env.BENCH_ROLES ?? 'api').split(',') as Role[]
const app = await createApp({
  config,
  redisUrl: config.redisUrl as string,
  amqpUrl: config.amqpUrl as string,
  adminToken: process.env.HOTSPOT_ADMIN_TOKEN as string,
  log: createLogger(config.logLevel),
})
await app.prepare()
await app.start(roles)
await app.http.listen({ port: config.port, host: '127.0.0.1' })
process.once('SIGTERM', async () => {
  await app.close()
  process.exit(0)
})
