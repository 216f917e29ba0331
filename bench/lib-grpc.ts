/**
 * The gRPC load generator of `npm run bench -- grpc`: bidirectional streams over bare HTTP/2 (node:http2), each
 * keeping a fixed number of messages in flight for a fixed time, with messages framed and read by the
 * .proto's own proto-loader serializers. Not @grpc/grpc-js as the client: it costs several times more per
 * message than the servers being measured, so it would measure itself (what wrk is to autocannon for HTTP).
 */

import { once } from 'node:events'
import http2 from 'node:http2'
import { serviceDefinition } from '../src/grpc/protos.ts'

export interface StreamLoad {
  /** host:port */
  address: string
  service: string
  method: string
  streams: number
  /** Messages sent and not yet answered, per stream. */
  inFlight: number
  /** Runs this long, or until each stream has sent `messagesPerStream` when that is given. */
  seconds: number
  messagesPerStream?: number
  request(stream: number, seq: number): unknown
  /** Is `reply` the right answer to request `seq` of `stream`? */
  check(stream: number, seq: number, reply: unknown): boolean
}

export interface StreamLoadResult {
  messagesPerSecond: number
  p50: number
  p99: number
  /** Answers received (= requests sent: every stream is drained before it is closed). */
  answered: number
  /** Wrong or out-of-order answers, plus streams that did not end with status OK. */
  errors: number
}

const percentile = (sorted: Float64Array, p: number) =>
  sorted.length ? (sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] as number) : 0

export async function driveStreams(load: StreamLoad): Promise<StreamLoadResult> {
  const method = serviceDefinition(load.service)[load.method]
  if (!method) throw new Error(`no method ${load.service}/${load.method}`)
  const session = http2.connect(`http://${load.address}`)
  session.on('error', () => {}) // reported per stream
  await once(session, 'connect')
  const latencies: number[] = []
  let answered = 0
  let errors = 0
  const started = performance.now()
  const deadline = load.messagesPerStream === undefined ? started + load.seconds * 1000 : Infinity
  const limit = load.messagesPerStream ?? Infinity

  const frame = (message: unknown) => {
    const body = method.requestSerialize(message)
    const framed = Buffer.allocUnsafe(5 + body.length)
    framed.writeUInt8(0, 0)
    framed.writeUInt32BE(body.length, 1)
    body.copy(framed, 5)
    return framed
  }

  const runStream = (stream: number) =>
    new Promise<void>((resolve) => {
      const call = session.request({
        ':method': 'POST',
        ':path': method.path,
        'content-type': 'application/grpc',
        te: 'trailers',
      })
      const sentAt = new Float64Array(load.inFlight) // ring: send time of each message in flight
      let sent = 0
      let got = 0
      let pending: Buffer = Buffer.alloc(0)
      const topUp = () => {
        if (sent >= limit || performance.now() >= deadline) {
          if (got === sent && !call.writableEnded) call.end() // drained: nothing left unanswered
          return
        }
        const now = performance.now()
        const frames: Buffer[] = []
        for (; sent - got < load.inFlight && sent < limit; sent++) {
          sentAt[sent % load.inFlight] = now
          frames.push(frame(load.request(stream, sent)))
        }
        if (frames.length > 0) call.write(Buffer.concat(frames))
      }
      call.on('data', (chunk: Buffer) => {
        pending = pending.length > 0 ? Buffer.concat([pending, chunk]) : chunk
        const now = performance.now()
        let offset = 0
        while (pending.length - offset >= 5) {
          const length = pending.readUInt32BE(offset + 1)
          if (pending.length - offset < 5 + length) break
          const reply = method.responseDeserialize(pending.subarray(offset + 5, offset + 5 + length))
          if (!load.check(stream, got, reply)) errors++
          latencies.push(now - (sentAt[got % load.inFlight] as number))
          got++
          offset += 5 + length
        }
        pending = pending.subarray(offset)
        if (sent - got <= load.inFlight / 2 || sent >= limit || performance.now() >= deadline) topUp()
      })
      const ended = (headers: http2.IncomingHttpHeaders) => {
        if (headers['grpc-status'] !== undefined && headers['grpc-status'] !== '0') errors++
      }
      call.on('response', ended) // a trailers-only answer
      call.on('trailers', ended)
      call.on('error', () => errors++)
      call.on('close', () => {
        answered += got
        resolve()
      })
      topUp()
    })

  await Promise.all(Array.from({ length: load.streams }, (_, s) => runStream(s)))
  const elapsed = (performance.now() - started) / 1000
  session.close()
  const sorted = Float64Array.from(latencies).sort()
  return {
    messagesPerSecond: answered / elapsed,
    p50: percentile(sorted, 0.5),
    p99: percentile(sorted, 0.99),
    answered,
    errors,
  }
}
