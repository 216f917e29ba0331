import type { Socket } from 'node:net'
import { Connection } from 'rabbitmq-client'
import { redactUrl, splitUrlList } from '../config.ts'
import type { Logger } from './logger.ts'

export type { Connection as AmqpConnection }

/**
 * One RabbitMQ connection per process. rabbitmq-client reconnects by itself, re-declares what publishers and
 * consumers asked for and re-subscribes consumers after a forced close, which is why it was chosen over amqplib
 * (there that is hand-written code). A comma-separated AMQP_URL lists cluster nodes: connect to any, fail over.
 */
export function createAmqp(url: string, log: Logger, name = 'hotspot'): Connection {
  const urls = splitUrlList(url)
  const first = new URL(urls[0] as string)
  const connection = new Connection({
    url: urls[0],
    hosts: urls.length > 1 ? urls.map((u) => new URL(u).host) : undefined,
    connectionName: `${name} pid ${process.pid}`,
    retryLow: 200,
    retryHigh: 5000,
    connectionTimeout: 10_000,
    // While RabbitMQ is unreachable a publish waits this long for a channel, then fails: the API answers 503
    // within seconds instead of hanging, and the failed publish is never sent later behind the caller's back.
    acquireTimeout: 5000,
    vhost: decodeURIComponent(first.pathname.slice(1)) || '/',
  })
  let warned = false
  connection.on('error', (error) => {
    // Reconnection is automatic; log once per outage rather than on every retry.
    if (!warned) log.warn({ err: error, url: redactUrl(url) }, 'RabbitMQ connection lost, reconnecting')
    warned = true
  })
  connection.on('connection', () => {
    if (warned) log.info('RabbitMQ connection re-established')
    warned = false
  })
  connection.on('connection', () => coalesceWritesPerTick(connection))
  return connection
}

const coalesced = new WeakSet<Socket>()

/**
 * rabbitmq-client writes each publish and each ack with a socket write of its own: one syscall and one TCP
 * segment per message, which RabbitMQ pays for in CPU on every read. Corking the socket until the end of the
 * current tick sends what one tick wrote (the acks of the handlers that finished together, a burst of
 * publishes) in one write; nothing waits longer than the tick. In `npm run bench -- tasks` this saved ~20 %
 * of RabbitMQ's CPU per task. It reaches the client's private `_socket` (new after every reconnect, hence
 * on each 'connection'); if a future version has none, this does nothing.
 */
function coalesceWritesPerTick(connection: Connection) {
  const socket = (connection as unknown as { _socket?: Socket })._socket
  if (!socket || coalesced.has(socket) || typeof socket.cork !== 'function') return
  coalesced.add(socket)
  let corked = false
  const write = socket.write
  socket.write = function (this: Socket, ...args: unknown[]) {
    if (!corked) {
      corked = true
      socket.cork()
      process.nextTick(() => {
        corked = false
        socket.uncork()
      })
    }
    return (write as (...a: unknown[]) => boolean).apply(this, args)
  } as Socket['write']
}

/** Waits for the first connection (start-up), with a clear error instead of a hang. */
export async function waitForAmqp(connection: Connection, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!connection.ready) {
    if (Date.now() > deadline)
      throw new Error(`RabbitMQ did not accept a connection within ${timeoutMs / 1000} s`)
    await new Promise((r) => setTimeout(r, 100))
  }
}
