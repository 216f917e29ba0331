import { AMQPChannelError, AMQPConnectionError, AMQPError } from 'rabbitmq-client'
import { describe, expect, it } from 'vitest'
import { isUnavailableError } from '../../src/infra/unavailable.ts'

/** The rabbitmq-client constructors are marked internal; the shapes are what its code throws. */
const amqp = (Kind: typeof AMQPError, code: string, message: string) =>
  new (Kind as unknown as new (code: string, message: string) => Error)(code, message)

describe('isUnavailableError', () => {
  it.each([
    ['no channel while reconnecting', amqp(AMQPError, 'TIMEOUT', 'channel aquisition timed out')],
    ['channel closed under a publish', amqp(AMQPChannelError, 'CH_CLOSE', 'channel is closed')],
    ['connection lost', amqp(AMQPConnectionError, 'CONN_CLOSE', 'socket closed unexpectedly by server')],
    ['publish nacked', amqp(AMQPError, 'NACK', 'message rejected by server')],
    ['ioredis abort', new Error('Command aborted due to connection close')],
  ])('%s → unavailable', (_name, error) => {
    expect(isUnavailableError(error)).toBe(true)
  })

  it.each([
    ['a missing queue', amqp(AMQPChannelError, 'NOT_FOUND', "no queue 'x' in vhost '/'")],
    ['a plain bug', new TypeError('x is not a function')],
  ])('%s → a bug', (_name, error) => {
    expect(isUnavailableError(error)).toBe(false)
  })
})
