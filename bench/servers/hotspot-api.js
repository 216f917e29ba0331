// hotspot's real app (createApp, the same code the `hotspot` roles run) on the compiled runtime — dist/ under plain
// node, as production runs it (spawnServer compiles dist/ first when it is stale) — on the bench's private servers.
// BENCH_ROLES says which roles this process runs (default `api`; `api,worker` as `hotspot start` runs the seckill,
// `api,grpc` for the gRPC bench, on GRPC_PORT), HTTP on PORT. Plain JS because it imports dist/, which has no types.
import { createApp } from '../../dist/app.js'
import { loadConfig } from '../../dist/config.js'
import { createLogger } from '../../dist/infra/logger.js'

const config = loadConfig()
const roles = (process.env.BENCH_ROLES ?? 'api').split(',')
const app = await createApp({
  config,
  redisUrl: config.redisUrl,
  amqpUrl: config.amqpUrl,
  adminToken: process.env.HOTSPOT_ADMIN_TOKEN,
  log: createLogger(config.logLevel),
})
await app.prepare()
await app.start(roles)
await app.http.listen({ port: config.port, host: '127.0.0.1' })
process.once('SIGTERM', async () => {
  await app.close()
  process.exit(0)
})
