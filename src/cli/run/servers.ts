import { brokerIsRedis, type Config } from '../../config.ts'
import { type PrivateServers, startPrivateServers } from '../../infra/local-servers.ts'
import { fail, say } from '../common.ts'

/**
 * The Redis/RabbitMQ URLs to use: the configured ones, or private servers started for those not set.
 * BROKER_URL=amqp://… stands for AMQP_URL; BROKER_URL=redis://… with no AMQP_URL needs no RabbitMQ at all
 * (`amqpUrl` is then undefined).
 */
export async function withServers(config: Config) {
  const redisBroker = brokerIsRedis(config)
  const givenAmqp = config.amqpUrl ?? (redisBroker ? undefined : config.brokerUrl)
  const want = { redis: !config.redisUrl, rabbitmq: !givenAmqp && !redisBroker }
  let servers: PrivateServers | undefined
  if (want.redis || want.rabbitmq) servers = await startPrivateServers(config.dataDir, want, say)
  const redisUrl = config.redisUrl ?? servers?.redisUrl
  const amqpUrl = givenAmqp ?? servers?.amqpUrl
  if (!redisUrl || (!redisBroker && !amqpUrl)) fail('could not determine the Redis/RabbitMQ URLs')
  return { servers, redisUrl, amqpUrl }
}
