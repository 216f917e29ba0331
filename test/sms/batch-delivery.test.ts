import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestApp, type TestApp } from '../support/app.ts'
import { outboxRows, randomPhone, sendSms, settled } from './support.ts'

const COUNT = 40

/** Messages waiting in the app's task queue (no worker runs yet). */
async function queued(app: TestApp): Promise<number> {
  const { messageCount } = await app.amqp.queueDeclare({ queue: app.config.tasks.ownQueue, passive: true })
  return messageCount
}

/** COUNT SMS sent at once; every one must be accepted. */
async function sendMany(app: TestApp): Promise<string[]> {
  const answers = await Promise.all(
    Array.from({ length: COUNT }, (_, i) => sendSms(app, { phone: randomPhone(), content: `batch ${i}` })),
  )
  expect(answers.map((r) => r.statusCode)).toEqual(Array.from({ length: COUNT }, () => 202))
  return answers.map((r) => r.json().id as string)
}

describe('SMS accepted together share one delivery task', () => {
  let app: TestApp
  let flaky: TestApp
  beforeAll(async () => {
    app = await startTestApp()
    // Every SMS fails its first attempt, then goes through.
    flaky = await startTestApp({
      env: { SMS_PROVIDER: 'flaky', SMS_FLAKY_FAILURES: '1', SMS_MAX_ATTEMPTS: '3', SMS_RETRY_BASE_MS: '20' },
    })
  })
  afterAll(async () => {
    await Promise.all([app?.close(), flaky?.close()])
  })

  it(`${COUNT} SMS at once: far fewer broker messages than SMS, and each SMS delivered exactly once`, async () => {
    const ids = await sendMany(app)
    // Every 202 came after the broker confirmed the task holding that SMS: the messages are there now.
    const messages = await queued(app)
    expect(messages).toBeGreaterThanOrEqual(1)
    expect(messages).toBeLessThanOrEqual(COUNT / 4)
    await app.start(['worker'])
    const sent = await Promise.all(ids.map((id) => settled(app, id, 30_000)))
    expect(sent.map((s) => [s.status, s.attempts])).toEqual(ids.map(() => ['sent', 1]))
    const rows = await Promise.all(ids.map((id) => outboxRows(app, id)))
    expect(rows.map((r) => r.length)).toEqual(ids.map(() => 1))
  })

  it('an SMS of a batch that fails goes on alone with its retries; the others are not sent again', async () => {
    await flaky.start(['worker'])
    const ids = await sendMany(flaky)
    const sent = await Promise.all(ids.map((id) => settled(flaky, id, 30_000)))
    expect(sent.map((s) => [s.status, s.attempts])).toEqual(ids.map(() => ['sent', 2]))
    const rows = await Promise.all(ids.map((id) => outboxRows(flaky, id)))
    expect(rows.map((r) => r.length)).toEqual(ids.map(() => 1))
  })
})
