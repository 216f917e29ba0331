import { randomUUID } from 'node:crypto'
import { Connection } from 'rabbitmq-client'
import { expect } from 'vitest'
import type { DomainEvent } from '../../src/domain-events/types.ts'
import { type DbKind, startTestApp, type TestApp } from '../support/app.ts'

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

export async function until(check: () => boolean | Promise<boolean>, timeoutMs = 20_000, what = 'condition') {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(50)
  }
}

/** A test app whose domain events go to an exchange (or streams) of its own, drained fast. */
export async function startEventsApp(
  options: {
    db?: DbKind
    amqpUrl?: string
    /** A Redis-only deployment: BROKER_URL=this, no RabbitMQ. */
    redisBrokerUrl?: string
    env?: Record<string, string>
    /** Another process of the same deployment: its prefix and database. */
    sameDeploymentAs?: TestApp
  } = {},
): Promise<TestApp & { exchange: string }> {
  const keyPrefix = options.sameDeploymentAs?.prefix ?? `t${randomUUID().slice(0, 8)}`
  const exchange = `${keyPrefix}.domain`
  const app = await startTestApp({
    db: options.db,
    keyPrefix,
    ...(options.sameDeploymentAs ? { databaseUrl: options.sameDeploymentAs.config.databaseUrl } : {}),
    ...(options.amqpUrl ? { amqpUrl: options.amqpUrl } : {}),
    ...(options.redisBrokerUrl ? { amqpUrl: undefined } : {}),
    env: {
      ...(options.redisBrokerUrl ? { BROKER_URL: options.redisBrokerUrl } : {}),
      DOMAIN_EVENTS_EXCHANGE: exchange,
      DOMAIN_EVENTS_POLL_MS: '50',
      DOMAIN_EVENTS_VIEWS_SETTLE_MS: '200',
      DOMAIN_EVENTS_RETRY_BASE_MS: '100',
      DOMAIN_EVENTS_RETRY_MAX_MS: '1000',
      SMS_RETRY_BASE_MS: '10',
      ...options.env,
    },
  })
  return Object.assign(app, { exchange })
}

export interface BoundQueue {
  /** Every event received, in arrival order (duplicates included). */
  events: DomainEvent[]
  close(): Promise<void>
}

/**
 * A durable queue of a downstream service bound to `exchange` with `pattern`, on its own connection: it outlives a
 * broker restart (messages are persistent) and records what it receives.
 */
export async function bindQueue(amqpUrl: string, exchange: string, pattern: string): Promise<BoundQueue> {
  const connection = new Connection({ url: amqpUrl, retryLow: 100, retryHigh: 1000 })
  connection.on('error', () => {})
  const queue = `${exchange}.consumer.${randomUUID().slice(0, 8)}`
  const events: DomainEvent[] = []
  const consumer = connection.createConsumer(
    {
      queue,
      queueOptions: { durable: true, autoDelete: false },
      exchanges: [{ exchange, type: 'topic', durable: true, autoDelete: false }],
      queueBindings: [{ exchange, routingKey: pattern }],
    },
    (msg) => {
      events.push(JSON.parse(msg.body instanceof Buffer ? msg.body.toString() : JSON.stringify(msg.body)))
    },
  )
  consumer.on('error', () => {})
  await new Promise<void>((resolve) => consumer.once('ready', () => resolve()))
  return {
    events,
    async close() {
      await consumer.close()
      await connection.queueDelete({ queue }).catch(() => {})
      await connection.close()
    },
  }
}

/** The envelope every event has. */
export function expectEnvelope(event: DomainEvent) {
  expect(event.id).toMatch(/^[0-9a-f-]{36}$/)
  expect(event.version).toBe(1)
  expect(Number.isNaN(Date.parse(event.time))).toBe(false)
  expect(typeof event.data).toBe('object')
}

export const ofType = (events: DomainEvent[], type: string) => events.filter((e) => e.type === type)
