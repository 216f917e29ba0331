import type { Config } from '../../config.ts'
import { type PrivateServers, startPrivateServers } from '../../infra/local-servers.ts'
import { fail, say } from '../common.ts'

/** The Redis/RabbitMQ URLs to use: the configured ones, or private servers started for those not set. */
export async function withServers(config: Config) {
  const want = { redis: !config.redisUrl, rabbitmq: !config.amqpUrl }
  let servers: PrivateServers | undefined
  if (want.redis || want.rabbitmq) servers = await startPrivateServers(config.dataDir, want, say)
  const redisUrl = config.redisUrl ?? servers?.redisUrl
  const amqpUrl = config.amqpUrl ?? servers?.amqpUrl
  if (!redisUrl || !amqpUrl) fail('could not determine the Redis/RabbitMQ URLs')
  return { servers, redisUrl, amqpUrl }
}
