/**
 * `multiple` acks on RabbitMQ (src/tasks/broker/amqp-acks.ts): handlers that finish together are acked by one
 * frame, a message still running is never covered by one, and it relies on rabbitmq-client's `_ch` (this fails
 * if an upgrade moves it).
 */
import { randomUUID } from 'node:crypto'
import { type Channel, Connection, type Consumer, ConsumerStatus } from 'rabbitmq-client'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { clientSocket } from '../../src/infra/amqp-coalesce.ts'
import { coalesceAcks } from '../../src/tasks/broker/amqp-acks.ts'

type AckParams = Parameters<Channel['basicAck']>[0]

describe('AMQP multiple acks', () => {
  const sent: AckParams[] = []
  let proto: Channel
  let original: Channel['basicAck']
  let connection: Connection
  const consumers: Consumer[] = []
  // One node is enough (the cluster profile injects a comma-separated list): acks are per channel.
  const amqpUrl = inject('amqpUrl').split(',')[0] as string

  beforeAll(async () => {
    connection = new Connection({ url: amqpUrl, connectionName: 'amqp-acks-test' })
    connection.on('error', () => {}) // the crash test drops the socket on purpose
    // rabbitmq-client exports Channel as a type only: its prototype from a live one.
    const ch = await connection.acquire()
    proto = Object.getPrototypeOf(ch) as Channel
    await ch.close()
    original = proto.basicAck
    // Every ack frame that reaches the client's codec, after the coalescing.
    proto.basicAck = function (this: Channel, params: AckParams) {
      sent.push(params)
      return original.call(this, params)
    }
  })
  afterAll(async () => {
    for (const c of consumers) await c.close()
    await connection.close()
    proto.basicAck = original
  })

  async function fill(count: number) {
    const queue = `acks-${randomUUID()}`
    await connection.queueDeclare({ queue, durable: false })
    const publisher = connection.createPublisher({ confirm: true })
    for (let i = 1; i <= count; i++) await publisher.send(queue, String(i))
    await publisher.close()
    return queue
  }

  function consume(
    queue: string,
    concurrency: number,
    handler: (body: string, redelivered: boolean) => Promise<void>,
  ) {
    const consumer = connection.createConsumer(
      {
        queue,
        queueOptions: { durable: false },
        qos: { prefetchCount: concurrency },
        concurrency,
        requeue: true,
      },
      async (msg) => {
        await handler(String(msg.body), msg.redelivered)
        return ConsumerStatus.ACK
      },
    )
    consumer.on('error', () => {})
    coalesceAcks(consumer, () => {})
    consumers.push(consumer)
    return consumer
  }

  it("rabbitmq-client keeps a Consumer's channel in _ch", async () => {
    const queue = await fill(0)
    const consumer = consume(queue, 1, async () => {})
    await new Promise<void>((r) => consumer.once('ready', () => r()))
    const ch = (consumer as unknown as { _ch?: Channel })._ch
    expect(ch && Object.getPrototypeOf(ch)).toBe(proto)
  })

  it('60 handlers finishing together are acked by one multiple ack; nothing comes back', async () => {
    const queue = await fill(60)
    let release: (() => void) | undefined
    const gate = new Promise<void>((r) => (release = r))
    let started = 0
    let done = 0
    const consumer = consume(queue, 60, async () => {
      started++
      await gate
      done++
    })
    await expect.poll(() => started).toBe(60)
    const before = sent.length
    release?.()
    await expect.poll(() => sent.length).toBeGreaterThan(before)
    await new Promise((r) => setTimeout(r, 100))
    expect(done).toBe(60)
    expect(sent.slice(before)).toEqual([{ deliveryTag: 60, multiple: true }])
    await consumer.close()
    const ok = await connection.queueDeclare({ queue, passive: true })
    expect(ok.messageCount).toBe(0) // all 60 acked: none went back to the queue when the channel closed
    await connection.queueDelete(queue)
  })

  it('a message still running is never covered: the later ones are acked alone, it comes back after a crash', async () => {
    const queue = await fill(3)
    let release: (() => void) | undefined
    const gate = new Promise<void>((r) => (release = r))
    const deliveries: string[] = []
    const before = sent.length
    consume(queue, 3, async (body, redelivered) => {
      deliveries.push(`${body}${redelivered ? ' again' : ''}`)
      if (body === '1' && !redelivered) await gate // the first one runs long
    })
    await expect.poll(() => sent.length - before).toBe(2)
    expect(sent.slice(before).every((p) => !p.multiple)).toBe(true)
    expect(
      sent
        .slice(before)
        .map((p) => p.deliveryTag)
        .sort(),
    ).toEqual([2, 3])
    // The process "dies" with message 1 unacked: RabbitMQ must deliver it again (and only it) to another worker.
    clientSocket(connection)?.destroy()
    const other = new Connection({ url: amqpUrl, connectionName: 'amqp-acks-other' })
    const again: string[] = []
    const taker = other.createConsumer(
      { queue, queueOptions: { durable: false }, qos: { prefetchCount: 10 } },
      async (msg) => {
        again.push(`${String(msg.body)}${msg.redelivered ? ' again' : ''}`)
        return ConsumerStatus.ACK
      },
    )
    await expect.poll(() => again, { timeout: 15_000 }).toEqual(['1 again'])
    await new Promise((r) => setTimeout(r, 300))
    expect(again).toEqual(['1 again'])
    expect(deliveries.sort()).toEqual(['1', '2', '3'])
    release?.()
    await taker.close()
    await other.close()
  })
})
