/**
 * The write coalescing of src/infra/amqp-coalesce.ts rests on one rabbitmq-client internal (`_socket`). These
 * fail when an upgrade moves it, and show what it buys: a burst of publishes reaches the socket as a few
 * writes instead of one per message.
 */
import type { Socket } from 'node:net'
import { Connection } from 'rabbitmq-client'
import { afterAll, describe, expect, inject, it } from 'vitest'
import { createAmqp, waitForAmqp } from '../../src/infra/amqp.ts'
import { clientSocket, corkPerTick } from '../../src/infra/amqp-coalesce.ts'
import { createLogger } from '../../src/infra/logger.ts'

/** Counts the writes that reach the kernel side of the socket (`_write` one chunk, `_writev` a corked batch). */
function countSocketWrites(socket: Socket) {
  const counted = { calls: 0 }
  const internal = socket as unknown as Record<'_write' | '_writev', (...a: unknown[]) => unknown>
  for (const name of ['_write', '_writev'] as const) {
    const original = internal[name]
    internal[name] = function (this: unknown, ...args: unknown[]) {
      counted.calls++
      return original.apply(this, args)
    }
  }
  return counted
}

async function burst(connection: Connection, messages: number) {
  const publisher = connection.createPublisher()
  const queue = `coalesce-${process.pid}-${Math.random().toString(36).slice(2)}`
  await connection.queueDeclare({ queue, exclusive: true })
  await publisher.send(queue, 'warm-up') // the channel exists: what follows is only publishes
  const socket = clientSocket(connection)
  if (!socket) throw new Error('no client socket')
  const counted = countSocketWrites(socket)
  await Promise.all(Array.from({ length: messages }, (_, i) => publisher.send(queue, `m${i}`)))
  await publisher.close()
  return counted.calls
}

describe('AMQP write coalescing', () => {
  const connections: Connection[] = []
  afterAll(async () => {
    await Promise.all(connections.map((c) => c.close()))
  })

  it('rabbitmq-client keeps the current net.Socket in _socket, a new one after a reconnect', async () => {
    const connection = createAmqp(inject('amqpUrl'), createLogger('silent'), 'coalesce-test')
    connections.push(connection)
    await waitForAmqp(connection)
    const first = clientSocket(connection)
    expect(first).toBeDefined()
    first?.destroy() // the client reconnects on a socket of its own
    await new Promise<void>((resolve) => connection.once('connection', () => resolve()))
    const second = clientSocket(connection)
    expect(second).toBeDefined()
    expect(second).not.toBe(first)
  })

  it('a burst of 200 publishes reaches the socket in far fewer writes than without it', async () => {
    const plain = new Connection({ url: inject('amqpUrl'), connectionName: 'coalesce-plain' })
    const coalesced = new Connection({ url: inject('amqpUrl'), connectionName: 'coalesce-corked' })
    connections.push(plain, coalesced)
    await Promise.all([waitForAmqp(plain), waitForAmqp(coalesced)])
    const socket = clientSocket(coalesced)
    if (socket) corkPerTick(socket)
    const [without, withIt] = [await burst(plain, 200), await burst(coalesced, 200)]
    expect(without).toBeGreaterThanOrEqual(100)
    expect(withIt).toBeLessThan(without / 5)
  })
})
