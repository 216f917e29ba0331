import { Server, ServerCredentials, type UntypedServiceImplementation } from '@grpc/grpc-js'
import { ReflectionService } from '@grpc/reflection'
import type { Logger } from '../infra/logger.ts'
import type { Metrics } from '../infra/metrics.ts'
import type { Check } from '../infra/ops-routes.ts'
import { gatewayHandler } from './gateway.ts'
import { createHealth } from './health.ts'
import { createGrpcMetrics, type GrpcMetrics } from './metrics.ts'
import { loadProtos, serviceDefinition } from './protos.ts'
import { writeAhead } from './write-ahead.ts'

/**
 * What a module serves over gRPC: full service name (in proto/) → its handlers, built with the server's call
 * metrics and logger. Each module contributes its own (counters: hotspot.v1.Views; tasks: hotspot.v1.Tasks).
 */
export type GrpcServices = (tools: {
  metrics: GrpcMetrics
  log: Logger
}) => Record<string, UntypedServiceImplementation>

export interface GrpcServerDeps {
  /** The modules' services, next to the server's own (schema.Gateway, health, reflection). */
  services: GrpcServices[]
  /** Named checks of the backing servers (`redis`, `amqp`), as for /readyz: they drive the health service. */
  checks: Record<string, Check>
  log: Logger
  metrics: Metrics
  /** How long open streams may go on after stop() before they are cancelled. */
  shutdownGraceMs?: number
  healthIntervalMs?: number
}

/** Bigger requests are refused (RESOURCE_EXHAUSTED), as HTTP bodies over 64 KiB are (413). */
const MAX_REQUEST_BYTES = 64 * 1024
/** Streams one connection may hold open at once (HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS). */
const MAX_STREAMS_PER_CONNECTION = 1000

/**
 * The gRPC server: the seed's `schema.Gateway`, the services modules contribute (`hotspot.v1.Views`,
 * `hotspot.v1.Tasks`) over the same services the HTTP API uses, plus the standard health service and reflection.
 */
export function createGrpcServer(deps: GrpcServerDeps) {
  const metrics = createGrpcMetrics(deps.metrics)
  const health = createHealth(deps.checks, deps.healthIntervalMs ?? 1000)
  const graceMs = deps.shutdownGraceMs ?? 5000
  let server: Server | undefined
  let boundPort: number | undefined

  function build(): Server {
    const built = new Server({
      'grpc.max_receive_message_length': MAX_REQUEST_BYTES,
      'grpc.max_concurrent_streams': MAX_STREAMS_PER_CONNECTION,
      interceptors: [writeAhead],
    })
    const add = (name: string, implementation: UntypedServiceImplementation) =>
      built.addService(serviceDefinition(name), implementation)
    add('schema.Gateway', { Call: gatewayHandler({ metrics, log: deps.log }) })
    for (const services of deps.services)
      for (const [name, implementation] of Object.entries(services({ metrics, log: deps.log })))
        add(name, implementation)
    health.implementation.addToServer(built)
    new ReflectionService(loadProtos()).addToServer(built)
    return built
  }

  return {
    /** The port bound by start() (useful with port 0). */
    get port(): number | undefined {
      return boundPort
    },

    async start(port: number, host = '127.0.0.1'): Promise<number> {
      if (server) return boundPort as number
      const built = build()
      const address = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`
      boundPort = await new Promise<number>((resolve, reject) =>
        built.bindAsync(address, ServerCredentials.createInsecure(), (error, bound) =>
          error
            ? reject(new Error(`gRPC cannot listen on ${address} (${error.message}); set GRPC_PORT`))
            : resolve(bound),
        ),
      )
      server = built
      await health.start()
      deps.log.info({ port: boundPort }, 'gRPC server listening')
      return boundPort
    },

    /** Stops taking calls, lets open ones finish for the grace period, then cancels what is left. */
    async stop(): Promise<void> {
      const running = server
      if (!running) return
      server = undefined
      health.stop()
      await new Promise<void>((resolve) => {
        const force = setTimeout(() => {
          deps.log.warn('gRPC: grace period over, cancelling the calls still open')
          running.forceShutdown()
          resolve()
        }, graceMs)
        running.tryShutdown(() => {
          clearTimeout(force)
          resolve()
        })
      })
    },
  }
}

export type GrpcServer = ReturnType<typeof createGrpcServer>
