import { type ClientDuplexStream, status } from '@grpc/grpc-js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createGrpcServer } from '../../src/grpc/server.ts'
import { createLogger } from '../../src/infra/logger.ts'
import { createMetrics } from '../../src/infra/metrics.ts'
import { startTestApp, type TestApp } from '../support/app.ts'
import { client } from './support.ts'

type Num = { num: string | number }

describe('gRPC graceful shutdown', () => {
  let app: TestApp
  beforeAll(async () => {
    app = await startTestApp()
  })
  afterAll(() => app.close())

  /** A server of its own (its own grace period) over the test app's services. */
  async function server(shutdownGraceMs: number) {
    const grpc = createGrpcServer({
      services: [],
      checks: {},
      log: createLogger('silent'),
      metrics: createMetrics(),
      shutdownGraceMs,
    })
    const port = await grpc.start(0)
    return { grpc, gateway: client(`127.0.0.1:${port}`, 'schema.Gateway') }
  }
  const ask = (call: ClientDuplexStream<Num, Num>, num: number) =>
    new Promise<Num>((resolve) => {
      call.once('data', resolve)
      call.write({ num })
    })
  const statusOf = (call: ClientDuplexStream<Num, Num>) =>
    new Promise<status>((resolve) => {
      call.on('error', () => {})
      call.on('status', (s) => resolve(s.code))
    })

  it('lets an open stream go on during the grace period, then ends it', async () => {
    const { grpc, gateway } = await server(1500)
    const call = gateway.stream<Num, Num>('Call')
    const ended = statusOf(call)
    expect(await ask(call, 1)).toEqual({ num: '2' })
    const stopping = grpc.stop()
    expect(await ask(call, 2)).toEqual({ num: '3' }) // still served while stopping
    await stopping
    expect(await ended).not.toBe(status.OK)
    gateway.close()
  })

  it('stop() is done as soon as the open streams finish, without waiting out the grace period', async () => {
    const { grpc, gateway } = await server(10 * 60_000) // longer than the test timeout
    const call = gateway.stream<Num, Num>('Call')
    const ended = statusOf(call)
    expect(await ask(call, 41)).toEqual({ num: '42' })
    const stopping = grpc.stop()
    call.end()
    expect(await ended).toBe(status.OK)
    await stopping
    gateway.close()
  })
})
