import { describe, expect, it } from 'vitest'
import { createAmqp } from '../../src/infra/amqp.ts'
import { freePort } from '../../src/infra/local-servers.ts'
import { createLogger } from '../../src/infra/logger.ts'
import { createEventBus } from '../../src/tasks/events.ts'

describe('event bus start-up', () => {
  it('gives up on an unreachable RabbitMQ within its bound, saying what is wrong, instead of waiting forever', async () => {
    const log = createLogger('silent')
    const amqp = createAmqp(`amqp://guest:guest@127.0.0.1:${await freePort()}`, log)
    const events = createEventBus(amqp, log, { startTimeoutMs: 1000 })
    try {
      await expect(events.start()).rejects.toThrow(
        /RabbitMQ did not accept .* within 1 s: check that AMQP_URL/,
      )
    } finally {
      await events.stop()
      await amqp.close()
    }
  })
})
