import { Connection } from 'rabbitmq-client'
import { redactUrl, splitUrlList } from '../config.ts'
import { coalesceWritesPerTick } from './amqp-coalesce.ts'
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
    // A node that stops answering (hung, SIGSTOPped) keeps its socket open: with a 5 s heartbeat the client
    // declares it dead after ~10 s (4 missed half-periods), fails what waits on it and reconnects (default: 60 s).
    heartbeat: 5,
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
  coalesceWritesPerTick(connection, log)
  return connection
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

/**
 * Readiness of RabbitMQ: connected, and a round trip answered (a passive declare of a built-in exchange). The
 * connection alone stays "ready" while a hung node keeps the socket open, until the heartbeat gives up.
 */
export async function pingAmqp(connection: Connection): Promise<boolean> {
  if (!connection.ready) return false
  try {
    await connection.exchangeDeclare({ exchange: 'amq.direct', passive: true })
    return true
  } catch {
    return false
  }
}
