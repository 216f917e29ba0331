/**
 * `hotspot start|api|worker|beat|grpc`: builds the app, starts the roles it runs and stops cleanly on
 * SIGINT/SIGTERM (HTTP stops accepting, in-flight requests finish, counts are flushed, connections close, then
 * the private servers stop).
 */
import path from 'node:path'
import { type App, createApp, type Role } from '../../app.ts'
import { brokerIsRedis, type Config, redactUrl } from '../../config.ts'
import { resolveAdminToken } from '../../infra/admin-token.ts'
import { isClusterWorker, runWorkers } from '../../infra/cluster-workers.ts'
import { chooseLogFormat, createLogger } from '../../infra/logger.ts'
import { fail, say } from '../common.ts'
import { migrate } from './migrate.ts'
import { withServers } from './servers.ts'

export type ServerCommand = 'start' | 'api' | 'worker' | 'beat' | 'grpc'

const ROLES: Record<ServerCommand, Role[]> = {
  start: ['api', 'worker', 'beat', 'grpc'],
  api: ['api'],
  worker: ['worker'],
  beat: ['beat'],
  grpc: ['grpc'],
}

/** Where a generated admin token is, never the token itself: start-up output ends up in logs (journald, CI). */
const adminTokenLine = (config: Config) =>
  `admin token generated: read it with  cat ${path.join(config.dataDir, 'admin-token')}`

/** The primary of `hotspot api --workers N`: private servers, admin token and migrations once, then N workers. */
async function runApiPrimary(config: Config, workers: number) {
  const { servers, redisUrl, amqpUrl } = await withServers(config)
  const admin = resolveAdminToken(config.adminToken, config.dataDir)
  await migrate(config) // once, so the workers do not race to apply the same migration
  if (admin.created) say(adminTokenLine(config))
  runWorkers({
    workers,
    env: { REDIS_URL: redisUrl, ...(amqpUrl ? { AMQP_URL: amqpUrl } : {}), HOTSPOT_ADMIN_TOKEN: admin.token },
    say,
    onStopped: async () => servers?.stop(),
    stopTimeoutMs: config.shutdownGraceMs + 30_000,
  })
}

export async function runServer(config: Config, command: ServerCommand, workers = 1) {
  if (workers > 1 && !isClusterWorker()) return runApiPrimary(config, workers)
  const roles = ROLES[command]
  const log = createLogger(
    config.logLevel,
    'hotspot',
    chooseLogFormat(config.logFormat, process.stdout.isTTY === true),
  )
  const { servers, redisUrl, amqpUrl } = await withServers(config)
  const admin = resolveAdminToken(config.adminToken, config.dataDir)
  let app: App | undefined
  let stopping = false
  const shutdown = async (reason: string, exitCode: number) => {
    if (stopping) return
    stopping = true
    say(`${reason}: stopping (finishing in-flight work, flushing counts)…`)
    const force = setTimeout(
      () => fail('shutdown took too long, exiting', 1),
      config.shutdownGraceMs + 30_000,
    )
    force.unref()
    try {
      await app?.close()
    } catch (error) {
      log.error({ err: error }, 'error while closing')
    }
    await servers?.stop()
    say('stopped')
    process.exit(exitCode)
  }
  process.once('SIGINT', () => void shutdown('SIGINT', 0))
  process.once('SIGTERM', () => void shutdown('SIGTERM', 0))
  process.on('uncaughtException', (error) => {
    log.fatal({ err: error }, 'uncaught exception')
    void shutdown('crash', 1)
  })

  app = await createApp({ config, redisUrl, amqpUrl, adminToken: admin.token, log })
  await app.prepare()
  await app.start(roles)
  const lines: string[] = []
  if (roles.includes('api')) {
    const address = await app.http.listen({ port: config.port, host: config.host })
    lines.push(`ready on ${address}  (API docs: ${address}/docs)`)
  }
  if (roles.includes('worker')) lines.push(`task worker consuming ${config.worker.queues.join(', ')}`)
  if (roles.includes('beat')) lines.push('beat scheduler running (fires while it holds the leader lock)')
  if (roles.includes('grpc')) lines.push(`gRPC on ${config.host}:${app.grpc.port}`)
  lines.push(
    `  Redis     ${redactUrl(redisUrl)}${config.redisUrl ? '' : ' (private)'}`,
    amqpUrl
      ? `  RabbitMQ  ${redactUrl(amqpUrl)}${config.amqpUrl || config.brokerUrl ? '' : ' (private)'}`
      : '  RabbitMQ  none (Redis-only: BROKER_URL=redis://…)',
    ...(brokerIsRedis(config)
      ? [`  broker    ${redactUrl(config.brokerUrl as string)} (Redis, kombu's transport)`]
      : []),
    `  database  ${redactUrl(config.databaseUrl)}`,
    `  data dir  ${config.dataDir}`,
  )
  if (admin.created) lines.push(`  ${adminTokenLine(config)}`)
  for (const line of lines) say(line)
}
