import http2 from 'node:http2'
import {
  type ClientDuplexStream,
  credentials,
  Metadata,
  makeGenericClientConstructor,
  type ServiceError,
  type status,
} from '@grpc/grpc-js'
import { serviceDefinition } from '../../src/grpc/protos.ts'
import { startTestApp, type TestApp } from '../support/app.ts'

/** A test app serving gRPC on an ephemeral port (GRPC_PORT=0; the bound port is read back). */
export async function startGrpcApp(
  options: Parameters<typeof startTestApp>[0] = {},
): Promise<TestApp & { address: string }> {
  const app = await startTestApp({ ...options, env: { GRPC_PORT: '0', ...options.env } })
  await app.start(['grpc'])
  return Object.assign(app, { address: `127.0.0.1:${app.grpc.port}` })
}

type Method = (...args: unknown[]) => unknown

/** A plain grpc-js client of one of hotspot's services, as any Node user would make it from the .proto. */
export function client(address: string, service: string) {
  const Constructor = makeGenericClientConstructor(serviceDefinition(service), service)
  // Retries off: grpc-js's retry buffer trims itself with an O(n) slice per sent message, which makes a
  // client that writes thousands of messages ahead quadratic (a client-side cost, not the server's).
  const raw = new Constructor(address, credentials.createInsecure(), { 'grpc.enable_retries': 0 })
  const method = (name: string): Method => {
    const fn = (raw as unknown as Record<string, Method | undefined>)[name]
    if (!fn) throw new Error(`${service} has no method ${name}`)
    return fn.bind(raw)
  }
  return {
    close: () => raw.close(),
    stream: <Req, Res>(name: string) => method(name)() as ClientDuplexStream<Req, Res>,
    /** A unary call as a promise of its reply or its error. */
    unary: <Res>(name: string, request: unknown, metadata = new Metadata()) =>
      new Promise<{ reply?: Res; error?: ServiceError }>((resolve) => {
        method(name)(request, metadata, (error: ServiceError | null, reply: Res) =>
          resolve(error ? { error } : { reply }),
        )
      }),
  }
}

/**
 * A bare HTTP/2 gRPC stream (no grpc-js client): the test controls exactly what is written and read, bytes
 * included. Messages are framed with the method's own proto-loader serializers.
 */
export function rawStream(address: string, service: string, method: string) {
  const definition = serviceDefinition(service)[method]
  if (!definition) throw new Error(`no method ${method}`)
  const session = http2.connect(`http://${address}`)
  const stream = session.request({
    ':method': 'POST',
    ':path': definition.path,
    'content-type': 'application/grpc',
    te: 'trailers',
  })
  const frame = (message: unknown) => {
    const body = definition.requestSerialize(message)
    const header = Buffer.alloc(5)
    header.writeUInt32BE(body.length, 1)
    return Buffer.concat([header, body])
  }
  let pending = Buffer.alloc(0)
  /** Complete messages in the bytes read so far. */
  const decode = (chunk: Buffer): unknown[] => {
    pending = Buffer.concat([pending, chunk])
    const messages: unknown[] = []
    while (pending.length >= 5) {
      const length = pending.readUInt32BE(1)
      if (pending.length < 5 + length) break
      messages.push(definition.responseDeserialize(pending.subarray(5, 5 + length)))
      pending = pending.subarray(5 + length)
    }
    return messages
  }
  const trailers = new Promise<http2.IncomingHttpHeaders>((resolve, reject) => {
    stream.on('response', (headers) => headers['grpc-status'] !== undefined && resolve(headers)) // trailers-only
    stream.on('trailers', resolve)
    stream.on('error', reject)
  })
  return { session, stream, frame, decode, trailers, close: () => session.close() }
}

export function bearer(token: string): Metadata {
  const metadata = new Metadata()
  metadata.set('authorization', `Bearer ${token}`)
  return metadata
}

/**
 * Writes `requests` on a bidi stream (respecting back-pressure), half-closes, and collects every answer and
 * the final status.
 */
export function exchange<Req, Res>(
  call: ClientDuplexStream<Req, Res>,
  requests: Req[],
): Promise<{ replies: Res[]; code: status; details: string }> {
  return new Promise((resolve) => {
    const replies: Res[] = []
    call.on('data', (reply: Res) => replies.push(reply))
    call.on('status', (s) => resolve({ replies, code: s.code, details: s.details }))
    call.on('error', () => {}) // the status event carries it
    let i = 0
    const pump = () => {
      while (i < requests.length) {
        const more = call.write(requests[i] as Req)
        i++
        if (!more) return void call.once('drain', pump)
      }
      call.end()
    }
    pump()
  })
}

/** Value of a metric (by its labels) on the app's registry. */
export async function metricValue(
  app: TestApp,
  name: string,
  labels: Record<string, string>,
): Promise<number> {
  const metric = app.metrics.registry.getSingleMetric(name)
  if (!metric) return 0
  const { values } = await metric.get()
  const match = values.find((v) => Object.entries(labels).every(([k, want]) => v.labels[k] === want))
  return match?.value ?? 0
}

export async function eventually(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await new Promise((r) => setTimeout(r, 25))
  }
}
