/**
 * `hotspot <role|command>`: the only place that reads process.argv. Roles build the app, start what they run
 * and stop it cleanly on SIGINT/SIGTERM (HTTP stops accepting, in-flight requests finish, counts are flushed,
 * connections close, then the private servers stop).
 */
import path from 'node:path'
import { type App, createApp, type Role } from './app.ts'
import { brokerIsRedis, type Config, ConfigError, loadConfig, redactUrl } from './config.ts'
import { runDoctor } from './doctor/index.ts'
import { resolveAdminToken } from './infra/admin-token.ts'
import { isClusterWorker, runWorkers } from './infra/cluster-workers.ts'
import { createDb, migrateToLatest } from './infra/db/index.ts'
import { LocalServerError, type PrivateServers, startPrivateServers } from './infra/local-servers.ts'
import { chooseLogFormat, createLogger } from './infra/logger.ts'
import { createReconciler } from './seckill/reconcile.ts'

const USAGE = `usage: hotspot <command>

  start     everything in one process (HTTP API, background jobs, gRPC), private Redis/RabbitMQ when no URL is set
  api       HTTP API only (--workers N: N processes sharing the port, restarted when one dies)
  migrate   apply SQL migrations and exit
  doctor    check a deployment (servers, cluster slots, queue types, migrations, clocks)
  worker    task worker (consumes WORKER_QUEUES)
  beat      periodic scheduler (run several: one leader fires at a time)
  grpc      gRPC server only (GRPC_PORT)
  tasks dlq                 list the dead-letter queue
  tasks replay <id|--all>   send dead letters back to their queue
  seckill reconcile [id]    compare flash-sale admissions with SQL orders and repair drift
  help      this text

Configuration comes from environment variables; see README.md.`

const say = (line: string) => process.stderr.write(`hotspot: ${line}\n`)

function fail(message: string, code = 1): never {
  say(message)
  process.exit(code)
}

async function withServers(config: Config) {
  // BROKER_URL=amqp://… stands for AMQP_URL; BROKER_URL=redis://… with no AMQP_URL needs no RabbitMQ at all.
  const givenAmqp = config.amqpUrl ?? (brokerIsRedis(config) ? undefined : config.brokerUrl)
  const want = { redis: !config.redisUrl, rabbitmq: !givenAmqp && !brokerIsRedis(config) }
  let servers: PrivateServers | undefined
  if (want.redis || want.rabbitmq) servers = await startPrivateServers(config.dataDir, want, say)
  const redisUrl = config.redisUrl ?? servers?.redisUrl
  const amqpUrl = givenAmqp ?? servers?.amqpUrl
  if (!redisUrl || (want.rabbitmq && !amqpUrl)) fail('could not determine the Redis/RabbitMQ URLs')
  return { servers, redisUrl, amqpUrl }
}

const ROLES: Record<string, Role[]> = {
  start: ['api', 'worker', 'beat', 'grpc'],
  api: ['api'],
  worker: ['worker'],
  beat: ['beat'],
  grpc: ['grpc'],
}

/** `--workers N` / `--workers=N` (default 1). */
function workersFlag(args: string[]): number {
  const at = args.findIndex((a) => a === '--workers' || a.startsWith('--workers='))
  if (at === -1) return 1
  const raw = args[at]?.includes('=') ? args[at]?.split('=')[1] : args[at + 1]
  if (!raw || !/^\d+$/.test(raw) || Number(raw) < 1 || Number(raw) > 256)
    fail(`--workers must be a whole number from 1 to 256, got "${raw ?? ''}"`, 2)
  return Number(raw)
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

async function runServer(config: Config, command: string, args: string[] = []) {
  const workers = command === 'api' ? workersFlag(args) : 1
  if (workers > 1 && !isClusterWorker()) return runApiPrimary(config, workers)
  const roles = ROLES[command] ?? []
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
      ? [`  broker    ${redactUrl(config.brokerUrl as string)} (Redis, kombu transport)`]
      : []),
    `  database  ${redactUrl(config.databaseUrl)}`,
    `  data dir  ${config.dataDir}`,
  )
  if (admin.created) lines.push(`  ${adminTokenLine(config)}`)
  for (const line of lines) say(line)
}

async function migrate(config: Config) {
  const db = createDb(config.databaseUrl)
  try {
    const { applied } = await migrateToLatest(db)
    say(applied.length ? `applied ${applied.join(', ')}` : 'database is up to date')
  } finally {
    await db.destroy()
  }
}

/** `hotspot tasks dlq` and `hotspot tasks replay <id|--all>`: the dead-letter queue from the command line. */
async function tasksCommand(config: Config, args: string[]) {
  const [sub, target] = args
  if (sub !== 'dlq' && sub !== 'replay')
    fail('usage: hotspot tasks dlq | hotspot tasks replay <task id|--all>', 2)
  if (sub === 'replay' && !target) fail('usage: hotspot tasks replay <task id|--all>', 2)
  const log = createLogger('warn')
  const { servers, redisUrl, amqpUrl } = await withServers(config)
  const app = await createApp({ config, redisUrl, amqpUrl, adminToken: 'unused-for-cli-commands', log })
  try {
    await app.tasks.broker.ready()
    if (sub === 'dlq') {
      const letters = await app.tasks.broker.listDeadLetters()
      if (letters.length === 0) say('the dead-letter queue is empty')
      for (const l of letters) {
        process.stdout.write(`${l.taskId}\t${l.task}\t${l.reason}\t${l.deadAt}\t${l.error ?? ''}\n`)
      }
    } else {
      const ids = await app.tasks.broker.replayDeadLetters(
        app.tasks.producer,
        (l) => target === '--all' || l.taskId === target,
      )
      say(ids.length ? `replayed ${ids.length}: ${ids.join(', ')}` : `no dead letter matches ${target}`)
      if (!ids.length && target !== '--all') process.exitCode = 1
    }
  } finally {
    await app.close()
    await servers?.stop()
  }
}

/** `hotspot seckill reconcile [product id]`: one reconciliation run, its report as JSON on stdout. */
async function seckillCommand(config: Config, args: string[]) {
  const [sub, product] = args
  if (sub !== 'reconcile' || (product !== undefined && !/^[1-9][0-9]{0,15}$/.test(product)))
    fail('usage: hotspot seckill reconcile [product id]', 2)
  // The report is the output (stdout): the reconciler's own "repaired drift" warning would only repeat it.
  const log = createLogger('error')
  const { servers, redisUrl, amqpUrl } = await withServers(config)
  const app = await createApp({ config, redisUrl, amqpUrl, adminToken: 'unused-for-cli-commands', log })
  try {
    await app.prepare()
    await app.tasks.broker.ready()
    const reconcile = createReconciler({
      db: app.db,
      redis: app.redis,
      prefix: config.keyPrefix,
      producer: app.tasks.producer,
      results: app.tasks.results,
      log,
      resendAfterMs: config.seckill.resendAfterSeconds * 1000,
    })
    const report = await reconcile({ productId: product === undefined ? undefined : Number(product) })
    process.stdout.write(`${JSON.stringify(report)}\n`)
    say(
      `reconciled ${report.products} product(s): ${report.resent} order(s) re-sent, ${report.drift.length} remaining fixed, ${report.restoredBuyers} admission(s) and ${report.restoredProducts} product(s) restored`,
    )
  } finally {
    await app.close()
    await servers?.stop()
  }
}

async function main(argv: string[]) {
  const command = argv[0] ?? 'help'
  if (command === 'help' || command === '--help' || command === '-h') {
    process.stdout.write(`${USAGE}\n`)
    return
  }
  let config: Config
  try {
    config = loadConfig()
  } catch (error) {
    if (error instanceof ConfigError) fail(`configuration error: ${error.message}`, 2)
    throw error
  }
  switch (command) {
    case 'start':
    case 'api':
    case 'worker':
    case 'beat':
    case 'grpc':
      return runServer(config, command, argv.slice(1))
    case 'migrate':
      return migrate(config)
    case 'doctor':
      if (!(await runDoctor(config, (line) => process.stdout.write(`${line}\n`)))) process.exitCode = 1
      return
    case 'tasks':
      return tasksCommand(config, argv.slice(1))
    case 'seckill':
      return seckillCommand(config, argv.slice(1))
    default:
      return fail(`unknown command "${command}"\n${USAGE}`, 2)
  }
}

main(process.argv.slice(2)).catch((error: unknown) => {
  if (error instanceof LocalServerError) fail(error.message)
  fail(error instanceof Error ? (error.stack ?? error.message) : String(error))
})
