import { randomUUID } from 'node:crypto'
import { Connection } from 'rabbitmq-client'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { createDeclarer } from '../../src/tasks/declare.ts'
import { decodeTask } from '../../src/tasks/message.ts'
import { startTestApp, type TestApp } from '../support/app.ts'
import { randomPhone } from '../verification/support.ts'
import { hasCelery, runPython } from './support/python-celery.ts'

/** Celery's task_queue_max_priority: queues declared alike on both sides, the message priority honoured. */
describe('task priorities (real RabbitMQ)', () => {
  let app: TestApp
  let amqp: Connection

  beforeAll(async () => {
    app = await startTestApp({
      env: { TASK_QUEUE_MAX_PRIORITY: '10', WORKER_CONCURRENCY: '1', WORKER_PREFETCH: '1' },
    })
    amqp = new Connection(inject('amqpUrl'))
  })
  afterAll(async () => {
    await amqp.close()
    await app.close()
  })

  it.runIf(hasCelery || process.env.CI)(
    'a queue declared by a Python app with task_queue_max_priority=10 is declared by hotspot without a 406, and back',
    async () => {
      const declarer = createDeclarer(amqp, 'classic', 10)
      const pyFirst = `prio-py-${randomUUID()}`
      expect(await runPython('priority_declare.py', pyFirst, '10')).toEqual({
        declared: true,
        arguments: { 'x-max-priority': 10 },
      })
      await expect(declarer.ensureQueue(pyFirst)).resolves.toBeUndefined()
      const hotspotFirst = `prio-hs-${randomUUID()}`
      await declarer.ensureQueue(hotspotFirst)
      expect(await runPython('priority_declare.py', hotspotFirst, '10')).toMatchObject({ declared: true })
      // The control: without the setting, hotspot's declaration of the Python queue is refused.
      await expect(createDeclarer(amqp, 'classic', 0).ensureQueue(pyFirst)).rejects.toThrow(
        /PRECONDITION_FAILED/,
      )
    },
  )

  it('higher-priority tasks waiting in the queue run first', async () => {
    const order: number[] = []
    app.tasks.registry.register('test.order', (args) => {
      order.push(args[0] as number)
      return null
    })
    const queue = app.config.tasks.ownQueue
    const ids: string[] = []
    for (const n of [0, 1, 2, 3, 4]) ids.push(await app.tasks.producer.send('test.order', [n], {}, { queue }))
    for (const n of [90, 91])
      ids.push(await app.tasks.producer.send('test.order', [n], {}, { queue, priority: 9 }))
    await app.start(['worker'])
    for (const id of ids) expect((await app.tasks.results.wait(id, 20_000)).status).toBe('SUCCESS')
    expect(order.slice(0, 2)).toEqual([90, 91])
    expect(order.slice(2)).toEqual([0, 1, 2, 3, 4])
  })
})

describe('verification codes go ahead of bulk SMS', () => {
  let app: TestApp
  let amqp: Connection
  beforeAll(async () => {
    app = await startTestApp({ env: { TASK_QUEUE_MAX_PRIORITY: '10' } }) // no worker: the queue holds them
    amqp = new Connection(inject('amqpUrl'))
  })
  afterAll(async () => {
    await amqp.close()
    await app.close()
  })

  it('a code requested after two bulk messages is the first delivery task the queue hands out', async () => {
    for (const content of ['bulk one', 'bulk two']) {
      const sent = await app.http.inject({
        method: 'POST',
        url: '/api/sms',
        payload: { phone: randomPhone(), content },
      })
      expect(sent.statusCode).toBe(202)
    }
    const code = await app.http.inject({
      method: 'POST',
      url: '/api/verification-codes',
      payload: { phone: randomPhone() },
    })
    expect(code.statusCode).toBe(202)
    const ch = await amqp.acquire()
    try {
      const first = await ch.basicGet({ queue: app.config.tasks.ownQueue, noAck: true })
      expect(first?.priority).toBe(9)
      const decoded = decodeTask(first?.body, first ?? {})
      expect(decoded.ok && decoded.task.args).toEqual([code.json().smsId])
    } finally {
      await ch.close()
    }
  })
})
