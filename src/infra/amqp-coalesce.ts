/**
 * Write coalescing for rabbitmq-client, in one place, because the client has no option for it.
 *
 * rabbitmq-client writes each publish and each ack with a socket write of its own: one syscall and one TCP
 * segment per message, which RabbitMQ pays for in CPU on every read. Corking the socket until the end of the
 * current tick sends what one tick wrote (the acks of handlers that finished together, a burst of publishes) in
 * one write; nothing waits longer than the tick. `npm run bench -- tasks` measured ~20 % less RabbitMQ CPU per
 * task with it (bench/results/2026-11-23-tasks.md); without it hotspot works the same, only costlier for the broker.
 *
 * It relies on one internal of rabbitmq-client 5.x: `connection._socket`, the net.Socket of the current
 * connection (a new one after every reconnect, hence installed on each 'connection'). test/infra/amqp-coalesce.test.ts
 * fails if that changes; at run time a missing socket is logged once and coalescing is skipped.
 */
import { Socket } from 'node:net'
import type { Connection } from 'rabbitmq-client'
import type { Logger } from './logger.ts'

const coalesced = new WeakSet<Socket>()

/** The client's current socket, where rabbitmq-client 5.x keeps it; undefined if a version moved it. */
export function clientSocket(connection: Connection): Socket | undefined {
  const socket = (connection as unknown as { _socket?: unknown })._socket
  return socket instanceof Socket ? socket : undefined
}

/** Corks `socket` from its first write in a tick until the tick ends. Idempotent per socket. */
export function corkPerTick(socket: Socket): void {
  if (coalesced.has(socket)) return
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

/** Coalesces the connection's writes per tick on every (re)connection. */
export function coalesceWritesPerTick(connection: Connection, log: Logger): void {
  let warned = false
  connection.on('connection', () => {
    const socket = clientSocket(connection)
    if (socket) return corkPerTick(socket)
    if (!warned)
      log.warn('rabbitmq-client keeps no _socket any more: writes are not coalesced (see amqp-coalesce.ts)')
    warned = true
  })
}
