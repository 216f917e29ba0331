import type { ServerDuplexStream } from '@grpc/grpc-js'
import type { Logger } from '../infra/logger.ts'
import type { GrpcMetrics } from './metrics.ts'
import type { GatewayRequest, GatewayResponse } from './protos.ts'
import { invalid } from './status.ts'
import { openStream } from './stream.ts'

const INT64_MAX = 2n ** 63n - 1n

/** `num + 1` over the whole int64 range, as a decimal string; undefined when it would not fit (no wrap). */
function plusOne(num: string): string | undefined {
  const next = BigInt(num) + 1n
  return next > INT64_MAX ? undefined : next.toString()
}

/**
 * `schema.Gateway/Call`, the seed's service: one Response{num + 1} per Request, written as soon as the request
 * is read, in order. A num of int64 max ends the stream with INVALID_ARGUMENT after the answers before it.
 */
export function gatewayHandler(deps: { metrics: GrpcMetrics; log: Logger }) {
  const method = '/schema.Gateway/Call'
  const methodMetrics = deps.metrics.forMethod(method)
  return (call: ServerDuplexStream<GatewayRequest, GatewayResponse>) => {
    const stream = openStream(call, { metrics: methodMetrics.start(), log: deps.log, method })
    call.on('data', (request: GatewayRequest) => {
      if (stream.ended) return
      const num = plusOne(request.num)
      if (num === undefined)
        return stream.fail(invalid('num', `${request.num} + 1 does not fit in int64 (max ${INT64_MAX})`))
      stream.write({ num })
    })
    stream.onClientEnd(() => stream.finish())
  }
}
