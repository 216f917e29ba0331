import { type ServerUnaryCall, type sendUnaryData, status } from '@grpc/grpc-js'
import type { Logger } from '../infra/logger.ts'
import type { TaskProducer, TaskResults } from '../tasks/types.ts'
import type { GrpcMetrics } from './metrics.ts'
import type { GetTaskRequest, SendTaskReply, SendTaskRequest, TaskStateReply } from './protos.ts'
import { GrpcError, invalid, toGrpcError } from './status.ts'

// The limits of POST /api/tasks and GET /api/tasks/:id (src/tasks/routes.ts), so both doors take the same input.
const NAME = /^[A-Za-z0-9_.:-]{1,200}$/
const MAX_ARGS = 1000
const MAX_COUNTDOWN_S = 268_435_455

function parseJson(field: string, text: string, want: 'array' | 'object'): unknown {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    throw invalid(field, `must be a JSON ${want}`)
  }
  const isArray = Array.isArray(value)
  if (want === 'array' ? !isArray : isArray || value === null || typeof value !== 'object')
    throw invalid(field, `must be a JSON ${want}`)
  return value
}

function parseSend(request: SendTaskRequest) {
  if (!NAME.test(request.name)) throw invalid('name', 'must be 1-200 characters of A-Z a-z 0-9 _ . : -')
  const args =
    request.args_json === '' ? [] : (parseJson('args_json', request.args_json, 'array') as unknown[])
  if (args.length > MAX_ARGS) throw invalid('args_json', `must have at most ${MAX_ARGS} items`)
  const kwargs =
    request.kwargs_json === ''
      ? {}
      : (parseJson('kwargs_json', request.kwargs_json, 'object') as Record<string, unknown>)
  if (request.queue !== '' && !NAME.test(request.queue))
    throw invalid('queue', 'must be 1-200 characters of A-Z a-z 0-9 _ . : -')
  const { countdown } = request
  if (!Number.isFinite(countdown) || countdown < 0 || countdown > MAX_COUNTDOWN_S)
    throw invalid('countdown', `must be between 0 and ${MAX_COUNTDOWN_S} seconds`)
  return {
    name: request.name,
    args,
    kwargs,
    options: { queue: request.queue || undefined, countdown: countdown || undefined },
  }
}

/**
 * `hotspot.v1.Tasks/Send` and `/Get`: POST /api/tasks and GET /api/tasks/:id over gRPC, on the same producer
 * and result backend. Both need the admin token as `authorization: Bearer …` metadata.
 */
export function tasksHandlers(deps: {
  producer: TaskProducer
  results: TaskResults
  isAdmin: (authorization: string | undefined) => boolean
  metrics: GrpcMetrics
  log: Logger
}) {
  /** Runs a unary call: admin check, then `answer`, with its metrics and status mapping. */
  function unary<Req, Res>(method: string, answer: (request: Req) => Promise<Res>) {
    const methodMetrics = deps.metrics.forMethod(method)
    return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => {
      const metrics = methodMetrics.start()
      metrics.received()
      const run = async () => {
        const authorization = call.metadata.get('authorization')[0]
        if (!deps.isAdmin(typeof authorization === 'string' ? authorization : undefined))
          throw new GrpcError(status.UNAUTHENTICATED, 'authorization: needs Bearer <HOTSPOT_ADMIN_TOKEN>')
        return answer(call.request)
      }
      run().then(
        (reply) => {
          metrics.sent()
          metrics.finish(status.OK)
          callback(null, reply)
        },
        (error: unknown) => {
          const grpcError = toGrpcError(error, deps.log, method)
          metrics.finish(grpcError.code)
          callback(grpcError)
        },
      )
    }
  }

  return {
    Send: unary<SendTaskRequest, SendTaskReply>('/hotspot.v1.Tasks/Send', async (request) => {
      const { name, args, kwargs, options } = parseSend(request)
      return { task_id: await deps.producer.send(name, args, kwargs, options) }
    }),
    Get: unary<GetTaskRequest, TaskStateReply>('/hotspot.v1.Tasks/Get', async (request) => {
      if (!NAME.test(request.task_id))
        throw invalid('task_id', 'must be 1-200 characters of A-Z a-z 0-9 _ . : -')
      const state = await deps.results.get(request.task_id)
      return {
        task_id: state.taskId,
        status: state.status,
        result_json: state.result === undefined ? '' : JSON.stringify(state.result),
        error: state.error ?? null,
      }
    }),
  }
}

/** The task system's contribution to the gRPC server (src/grpc/server.ts `GrpcServices`). */
export const tasksGrpcServices =
  (deps: Pick<Parameters<typeof tasksHandlers>[0], 'producer' | 'results' | 'isAdmin'>) =>
  (tools: { metrics: GrpcMetrics; log: Logger }) => ({
    'hotspot.v1.Tasks': tasksHandlers({ ...deps, ...tools }),
  })
