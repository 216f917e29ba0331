import { Redis } from 'ioredis'
import { brokerIsRedis, type Config } from '../../config.ts'
import { createAmqp } from '../../infra/amqp.ts'
import { createLogger } from '../../infra/logger.ts'
import { createRedis } from '../../infra/redis.ts'
import { createAmqpCeleryBus } from '../../tasks/broker/celery-bus.ts'
import { createRedisCeleryBus } from '../../tasks/broker/redis/fanout.ts'
import { CONTROL_USAGE, controlRequest, runControlRequest, UsageError } from '../../tasks/control/cli.ts'
import { fail, say } from '../common.ts'
import { withServers } from './servers.ts'

/** `hotspot inspect …` / `hotspot control …`: Celery's remote control from the command line, on the task broker. */
export async function controlCommand(config: Config, kind: 'inspect' | 'control', args: string[]) {
  let request: ReturnType<typeof controlRequest>
  try {
    request = controlRequest(kind, args)
  } catch (error) {
    if (error instanceof UsageError) fail(`${error.message}\n${CONTROL_USAGE}`, 2)
    throw error
  }
  const log = createLogger('error')
  const write = (t: string) => process.stdout.write(t)
  if (brokerIsRedis(config)) {
    // As `celery inspect` with broker_url=redis://: kombu's Redis fanout, no RabbitMQ and no private servers.
    const client = createRedis(config.brokerUrl as string, {
      log,
      commandTimeoutMs: config.redisCommandTimeoutMs,
    })
    try {
      if (!(client instanceof Redis)) fail('the Redis broker is one server (kombu has no Redis Cluster)')
      process.exitCode = await runControlRequest(createRedisCeleryBus(client, log), request, write, say)
    } finally {
      client.disconnect()
    }
    return
  }
  const { servers, amqpUrl } = await withServers(config)
  if (!amqpUrl) fail('could not determine the RabbitMQ URL')
  const amqp = createAmqp(amqpUrl, log, 'hotspot-cli')
  const bus = createAmqpCeleryBus(amqp, log)
  try {
    process.exitCode = await runControlRequest(bus, request, write, say)
  } finally {
    await bus.close()
    await amqp.close()
    await servers?.stop()
  }
}
