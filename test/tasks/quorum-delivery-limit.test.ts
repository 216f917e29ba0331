import { ConsumerStatus } from 'rabbitmq-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { listDeadLetters, replayDeadLetters } from '../../src/tasks/dlq.ts'
import { QUORUM_DELIVERY_LIMIT } from '../../src/tasks/topology.ts'
import { onCluster, startTestApp, type TestApp } from '../support/app.ts'

/**
 * The cluster profile only: there every queue is quorum, hotspot.dlq included. On the single profile's shared
 * broker every other test file declares hotspot.dlq classic first, and a quorum app's declare of it gets 406.
 */
describe.runIf(onCluster)('quorum task queues: the delivery limit dead-letters, never drops', () => {
  let app: TestApp
  beforeAll(async () => {
    app = await startTestApp({ env: { AMQP_QUEUE_TYPE: 'quorum' } })
  })
  afterAll(async () => {
    await app?.close()
  })

  it(`a message given back ${QUORUM_DELIVERY_LIMIT} times lands in hotspot.dlq (reason delivery_limit) and replays`, async () => {
    const queue = `${app.prefix}.hotspot`
    const taskId = await app.tasks.producer.send('hotspot.ping', [], {}, { queue })
    // A consumer that gives every message back, as a worker that crashes on it would: only the broker counts.
    let deliveries = 0
    const looping = app.amqp.createConsumer(
      { queue, queueOptions: { passive: true }, requeue: true, qos: { prefetchCount: 1 } },
      async () => {
        deliveries++
        return ConsumerStatus.REQUEUE
      },
    )
    try {
      await expect
        .poll(async () => (await listDeadLetters(app.amqp)).find((d) => d.taskId === taskId), {
          timeout: 60_000,
          interval: 500,
        })
        .toMatchObject({ taskId, reason: 'delivery_limit', queue, task: 'hotspot.ping' })
    } finally {
      await looping.close()
    }
    expect(deliveries).toBeGreaterThanOrEqual(QUORUM_DELIVERY_LIMIT)

    // Replayed to where it came from, with the broker's death headers gone.
    expect(await replayDeadLetters(app.amqp, app.tasks.producer, (d) => d.taskId === taskId)).toEqual([
      taskId,
    ])
    const channel = await app.amqp.acquire()
    try {
      let msg = await channel.basicGet({ queue, noAck: true })
      for (let i = 0; !msg && i < 50; i++) {
        await new Promise((r) => setTimeout(r, 100))
        msg = await channel.basicGet({ queue, noAck: true })
      }
      expect(msg?.headers?.id).toBe(taskId)
      expect(Object.keys(msg?.headers ?? {}).filter((k) => /death/.test(k))).toEqual([])
    } finally {
      await channel.close()
    }
  }, 90_000)
})
