import type { Config } from '../../config.ts'
import { createAmqp } from '../../infra/amqp.ts'
import { createLogger } from '../../infra/logger.ts'
import { CONTROL_USAGE, controlRequest, runControlRequest, UsageError } from '../../tasks/control/cli.ts'
import { fail, say } from '../common.ts'
import { withServers } from './servers.ts'

/** `hotspot inspect …` / `hotspot control …`: Celery's remote control from the command line. */
export async function controlCommand(config: Config, kind: 'inspect' | 'control', args: string[]) {
  let request: ReturnType<typeof controlRequest>
  try {
    request = controlRequest(kind, args)
  } catch (error) {
    if (error instanceof UsageError) fail(`${error.message}\n${CONTROL_USAGE}`, 2)
    throw error
  }
  const { servers, amqpUrl } = await withServers(config)
  if (!amqpUrl)
    fail('Celery remote control runs on RabbitMQ (AMQP_URL); a Redis-only deployment has none yet')
  const amqp = createAmqp(amqpUrl, createLogger('error'), 'hotspot-cli')
  try {
    process.exitCode = await runControlRequest(amqp, request, (t) => process.stdout.write(t), say)
  } finally {
    await amqp.close()
    await servers?.stop()
  }
}
