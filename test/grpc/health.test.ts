import fs from 'node:fs'
import { createRequire } from 'node:module'
import os from 'node:os'
import path from 'node:path'
import { credentials, makeGenericClientConstructor, type ServiceDefinition, status } from '@grpc/grpc-js'
import { loadSync } from '@grpc/proto-loader'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type RunningServer, startRedis } from '../../src/infra/local-servers.ts'
import type { TestApp } from '../support/app.ts'
import { client, eventually, exchange, startGrpcApp } from './support.ts'

/** The reflection service's own .proto, as shipped by @grpc/reflection (what grpcurl speaks). */
function reflectionClient(address: string) {
  const root = path.join(path.dirname(createRequire(import.meta.url).resolve('@grpc/reflection')), '../proto')
  const definition = loadSync('grpc/reflection/v1/reflection.proto', { includeDirs: [root], keepCase: true })
  const service = definition['grpc.reflection.v1.ServerReflection'] as ServiceDefinition
  const Constructor = makeGenericClientConstructor(service, 'ServerReflection')
  return new Constructor(address, credentials.createInsecure()) as unknown as {
    ServerReflectionInfo(): import('@grpc/grpc-js').ClientDuplexStream<unknown, Record<string, unknown>>
    close(): void
  }
}

/** Stops and restarts Redis, so it gets a Redis of its own instead of the shared one. */
describe('gRPC health and reflection', () => {
  let dir: string
  let redis: RunningServer
  let app: TestApp & { address: string }
  let health: ReturnType<typeof client>

  const check = async (service: string) => {
    const { reply, error } = await health.unary<{ status: string }>('Check', { service })
    return reply?.status ?? `error ${error?.code}`
  }

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hotspot-grpc-health-'))
    redis = await startRedis({ dir })
    app = await startGrpcApp({ redisUrl: redis.url })
    health = client(app.address, 'grpc.health.v1.Health')
  })
  afterAll(async () => {
    health.close()
    await app.close()
    await redis.stop()
    fs.rmSync(dir, { recursive: true, force: true })
  })

  it('reports SERVING for the server and each service; an unknown service is NOT_FOUND', async () => {
    for (const service of ['', 'schema.Gateway', 'hotspot.v1.Views', 'hotspot.v1.Tasks'])
      expect(await check(service)).toBe('SERVING')
    expect(await check('no.such.Service')).toBe(`error ${status.NOT_FOUND}`)
  })

  it('reflection lists the services and describes them without the .proto files', async () => {
    const reflection = reflectionClient(app.address)
    const { replies, code } = await exchange(reflection.ServerReflectionInfo(), [
      { list_services: '' },
      { file_containing_symbol: 'hotspot.v1.Views' },
      { file_containing_symbol: 'schema.Gateway' },
    ])
    reflection.close()
    expect(code).toBe(status.OK)
    const listed = replies[0]?.list_services_response as { service: { name: string }[] }
    expect(listed.service.map((s) => s.name)).toEqual(
      expect.arrayContaining(['schema.Gateway', 'hotspot.v1.Views', 'hotspot.v1.Tasks']),
    )
    // proto-loader regroups descriptors by package (file names change), so look for the definitions.
    for (const [i, names] of [
      [1, ['Views', 'ViewEvent', 'item_id', 'ViewAck', 'unique_visitors']],
      [2, ['Gateway', 'Request', 'Response', 'num']],
    ] as const) {
      const response = replies[i]?.file_descriptor_response as { file_descriptor_proto: Buffer[] } | undefined
      const descriptors = response?.file_descriptor_proto ?? []
      expect(descriptors.length).toBeGreaterThan(0)
      const text = descriptors.map((d) => d.toString('latin1')).join('')
      for (const name of names) expect(text).toContain(name)
    }
  })

  it('is NOT_SERVING while Redis is down (Gateway, which needs nothing, still serves), then recovers', async () => {
    const port = Number(new URL(redis.url).port)
    const item = await app.http.inject({
      method: 'POST',
      url: '/api/items',
      headers: app.auth,
      payload: { kind: 'video', title: 'down' },
    })
    await redis.stop()
    await eventually(async () => (await check('')) === 'NOT_SERVING', 15_000)
    expect(await check('hotspot.v1.Views')).toBe('NOT_SERVING')
    expect(await check('hotspot.v1.Tasks')).toBe('NOT_SERVING')
    expect(await check('schema.Gateway')).toBe('SERVING')
    const views = client(app.address, 'hotspot.v1.Views')
    const down = await exchange(views.stream('Record'), [{ item_id: String(item.json().id) }])
    expect(down.code).toBe(status.UNAVAILABLE)

    redis = await startRedis({ dir, port })
    await eventually(async () => (await check('')) === 'SERVING', 15_000)
    let up = await exchange(views.stream('Record'), [{ item_id: String(item.json().id) }])
    for (let i = 0; i < 50 && up.code !== status.OK; i++) {
      await new Promise((r) => setTimeout(r, 100)) // ioredis may still be reconnecting
      up = await exchange(views.stream('Record'), [{ item_id: String(item.json().id) }])
    }
    expect(up.code).toBe(status.OK)
    views.close()
  })
})
