import { status } from '@grpc/grpc-js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { TestApp } from '../support/app.ts'
import { client, eventually, exchange, metricValue, rawStream, startGrpcApp } from './support.ts'

type Num = { num: string | number }
const METHOD = '/schema.Gateway/Call'
const INT64_MAX = 2n ** 63n - 1n

describe('schema.Gateway/Call', () => {
  let app: TestApp & { address: string }
  let gateway: ReturnType<typeof client>
  const open = () => gateway.stream<Num, { num: string }>('Call')
  const active = () => metricValue(app, 'hotspot_grpc_active_calls', { method: METHOD })

  beforeAll(async () => {
    app = await startGrpcApp()
    gateway = client(app.address, 'schema.Gateway')
  })
  afterAll(async () => {
    gateway.close()
    await app.close()
  })

  it('answers num + 1 for 10 000 messages on one stream, in order', async () => {
    // Bare HTTP/2 (all 10 000 written at once): a grpc-js client sends one message per event-loop turn,
    // which on a busy machine measures the client, not the server. The grpc-js client is the next test.
    const raw = rawStream(app.address, 'schema.Gateway', 'Call')
    const replies: unknown[] = []
    raw.stream.on('data', (chunk: Buffer) => replies.push(...raw.decode(chunk)))
    raw.stream.end(Buffer.concat(Array.from({ length: 10_000 }, (_, i) => raw.frame({ num: i }))))
    const trailers = await raw.trailers
    raw.close()
    expect(trailers['grpc-status']).toBe(String(status.OK))
    expect(replies.length).toBe(10_000)
    expect(replies.every((r, i) => (r as { num: string }).num === String(i + 1))).toBe(true)
  })

  it('serves a plain grpc-js client: 1 000 messages, in order', async () => {
    const requests = Array.from({ length: 1000 }, (_, i) => ({ num: i * 3 }))
    const { replies, code } = await exchange(open(), requests)
    expect(code).toBe(status.OK)
    expect(replies.map((r) => r.num)).toEqual(requests.map((r) => String(r.num + 1)))
  })

  it('keeps int64 precision at the edges (no rounding past 2^53)', async () => {
    const edges = [0n, -1n, 2n ** 53n + 1n, 2n ** 53n + 2n, INT64_MAX - 1n, -(2n ** 63n)]
    const { replies, code } = await exchange(
      open(),
      edges.map((n) => ({ num: n.toString() })),
    )
    expect(code).toBe(status.OK)
    expect(replies.map((r) => r.num)).toEqual(edges.map((n) => (n + 1n).toString()))
  })

  it('int64 max ends the stream with INVALID_ARGUMENT naming num, after the answers before it', async () => {
    const { replies, code, details } = await exchange(open(), [
      { num: 41 },
      { num: INT64_MAX.toString() },
      { num: 1 },
    ])
    expect(replies.map((r) => r.num)).toEqual(['42'])
    expect(code).toBe(status.INVALID_ARGUMENT)
    expect(details).toMatch(/^num: /)
  })

  it('stops reading from a client that writes without reading, then answers everything in order', async () => {
    const total = 50_000
    const raw = rawStream(app.address, 'schema.Gateway', 'Call')
    raw.stream.pause() // the client reads nothing for now
    const received = () => metricValue(app, 'hotspot_grpc_messages_received_total', { method: METHOD })
    const before = await received()
    // All of it at once: what the server does not take waits in the client's own buffers.
    const batch = 5_000
    for (let start = 0; start < total; start += batch)
      raw.stream.write(Buffer.concat(Array.from({ length: batch }, (_, i) => raw.frame({ num: start + i }))))
    raw.stream.end()
    // The server reads until its answers back up (HTTP/2 windows), then stops reading: wait until the
    // count stands still for half a second.
    let readWhilePaused = 0
    await eventually(async () => {
      const first = (await received()) - before
      await new Promise((r) => setTimeout(r, 500))
      readWhilePaused = (await received()) - before
      return readWhilePaused === first && readWhilePaused > 0
    }, 30_000)
    expect(readWhilePaused).toBeLessThan(total / 2) // about 8 000 here: two 64 KiB HTTP/2 windows of tiny messages

    const replies: unknown[] = []
    raw.stream.on('data', (chunk: Buffer) => replies.push(...raw.decode(chunk)))
    raw.stream.resume()
    const trailers = await raw.trailers
    raw.close()
    expect(trailers['grpc-status']).toBe(String(status.OK))
    expect(replies.length).toBe(total)
    expect(replies.every((r, i) => (r as { num: string }).num === String(i + 1))).toBe(true)
  })

  it('a client cancelling mid-stream frees the stream, and the server keeps serving', async () => {
    const cancelledMetric = { method: METHOD, code: 'CANCELLED' }
    const cancelledBefore = await metricValue(app, 'hotspot_grpc_errors_total', cancelledMetric)
    const startedBefore = await metricValue(app, 'hotspot_grpc_calls_total', { method: METHOD })
    const calls = Array.from({ length: 10 }, open)
    await Promise.all(
      calls.map(
        (call) =>
          new Promise<void>((resolve) => {
            call.once('data', () => resolve())
            call.on('error', () => {})
            call.write({ num: 1 })
          }),
      ),
    )
    expect(await metricValue(app, 'hotspot_grpc_calls_total', { method: METHOD })).toBe(startedBefore + 10)
    expect(await active()).toBe(10)
    for (const call of calls) call.cancel()
    await eventually(async () => (await active()) === 0)
    expect(await metricValue(app, 'hotspot_grpc_errors_total', cancelledMetric)).toBe(cancelledBefore + 10)
    const { replies } = await exchange(open(), [{ num: 7 }])
    expect(replies).toEqual([{ num: '8' }])
  })

  it('a malformed frame ends that stream with an error status, never the server', async () => {
    const raw = rawStream(app.address, 'schema.Gateway', 'Call')
    // A 3-byte message holding a truncated varint: not a valid Request.
    raw.stream.end(Buffer.from([0, 0, 0, 0, 3, 0x08, 0xff, 0xff]))
    raw.stream.resume()
    const trailers = await raw.trailers
    raw.close()
    expect(trailers['grpc-status']).not.toBe(String(status.OK))
    await eventually(async () => (await active()) === 0)
    const { replies } = await exchange(open(), [{ num: 1 }])
    expect(replies).toEqual([{ num: '2' }])
  })
})
