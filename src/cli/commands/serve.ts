import { type Command, InvalidArgumentError } from 'commander'
import { configOrExit } from '../common.ts'
import {
  ALL_GROUPS,
  BEAT,
  CONNECTIONS,
  DATABASE,
  envHelp,
  GRPC,
  HTTP,
  PROCESS,
  unlistedGroup,
  WORKER,
} from '../env-vars.ts'
import type { ServerCommand } from '../run/serve.ts'

const BASE = [CONNECTIONS, DATABASE, PROCESS]

const SERVERS: { name: ServerCommand; about: string; env: typeof BASE; everything?: true }[] = [
  {
    name: 'start',
    about:
      'everything in one process (HTTP API, task worker, beat, gRPC); private Redis/RabbitMQ when no URL is set',
    env: ALL_GROUPS,
    everything: true,
  },
  { name: 'api', about: 'HTTP API (and the web UI) only', env: [...BASE, HTTP] },
  {
    name: 'worker',
    about: 'task worker only (consumes WORKER_QUEUES; a Celery peer)',
    env: [...BASE, WORKER],
  },
  {
    name: 'beat',
    about: 'periodic scheduler (run several: one leader fires at a time)',
    env: [...BASE, BEAT],
  },
  { name: 'grpc', about: 'gRPC server only (GRPC_PORT)', env: [...BASE, GRPC, HTTP] },
]

function workerCount(raw: string): number {
  const n = Number(raw)
  if (!/^\d+$/.test(raw) || n < 1 || n > 256)
    throw new InvalidArgumentError('must be a whole number from 1 to 256')
  return n
}

export function register(program: Command) {
  for (const server of SERVERS) {
    const command = program
      .command(server.name)
      .description(server.about)
      .addHelpText('after', () => envHelp(server.everything ? [...server.env, unlistedGroup()] : server.env))
    if (server.name === 'api')
      command.option('--workers <n>', 'N processes sharing the port, restarted when one dies', workerCount, 1)
    command.action(async (options: { workers?: number }) => {
      const { runServer } = await import('../run/serve.ts')
      await runServer(configOrExit(), server.name, options.workers ?? 1)
    })
  }
}
