import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { BrokerKind } from '../../src/tasks/broker/types.ts'
import { type DbKind, dbKinds, onCluster, startTestApp, type TestApp } from '../support/app.ts'
import { startPrivateRedis } from '../tasks/support/private-redis.ts'
import { outboxRows, randomPhone, sendSms, settled } from './support.ts'

// Every SQL engine on RabbitMQ; the Redis broker (kombu's transport, Redis-only) on SQLite.
const cases: [DbKind, BrokerKind][] = [
  ...dbKinds.map((db): [DbKind, BrokerKind] => [db, 'amqp']),
  ...(onCluster ? [] : [['sqlite', 'redis'] as [DbKind, BrokerKind]]),
]

describe.each(cases)('SMS delivery retries with a failing provider, on %s and the %s broker', (db, kind) => {
  let recovering: TestApp
  let broken: TestApp
  let broker: Awaited<ReturnType<typeof startPrivateRedis>> | undefined
  beforeAll(async () => {
    broker = kind === 'redis' ? await startPrivateRedis() : undefined
    const brokerEnv: Record<string, string> = broker ? { BROKER_URL: broker.url } : {}
    const redisOnly = broker ? { amqpUrl: undefined } : {}
    // Fails twice then delivers; backoff 1 s base (retry n waits 0.5–1 × 2^n s, in the broker's delay queues).
    recovering = await startTestApp({
      db,
      ...redisOnly,
      env: {
        ...brokerEnv,
        SMS_PROVIDER: 'flaky',
        SMS_FLAKY_FAILURES: '2',
        SMS_MAX_ATTEMPTS: '5',
        SMS_RETRY_BASE_MS: '1000',
      },
    })
    // Never delivers; 3 attempts, short backoff.
    broken = await startTestApp({
      db,
      ...redisOnly,
      env: {
        ...brokerEnv,
        SMS_PROVIDER: 'flaky',
        SMS_FLAKY_FAILURES: '1000',
        SMS_MAX_ATTEMPTS: '3',
        SMS_RETRY_BASE_MS: '20',
      },
    })
    expect(recovering.tasks.broker.kind).toBe(kind)
    await Promise.all([recovering.start(['worker']), broken.start(['worker'])])
  })
  afterAll(async () => {
    await recovering.close()
    await broken.close()
    await broker?.stop()
  })

  it('retries provider errors with backoff and delivers once on the third attempt', async () => {
    const started = Date.now()
    const { id } = (await sendSms(recovering, { phone: randomPhone(), content: 'r'.repeat(200) })).json()
    const sms = await settled(recovering, id, 30_000)
    expect(sms).toMatchObject({ status: 'sent', attempts: 3 })
    expect(sms).not.toHaveProperty('error') // cleared once sent
    // Two waits of at least 1 s each (delays round up to whole seconds in the broker): backoff happened.
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_900)
    expect((await outboxRows(recovering, id)).map((r) => r.part)).toEqual([1, 2])
  })

  it('marks the message failed after the last attempt, with the provider error, and sends nothing', async () => {
    const { id } = (await sendSms(broken, { phone: randomPhone(), content: 'never' })).json()
    const sms = await settled(broken, id)
    expect(sms).toMatchObject({ status: 'failed', attempts: 3 })
    expect(sms.error).toContain('gateway refused attempt 3')
    expect(await outboxRows(broken, id)).toEqual([])
  })
})
