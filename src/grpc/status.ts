import { type ServerErrorResponse, status } from '@grpc/grpc-js'
import { AppError } from '../errors.ts'
import type { Logger } from '../infra/logger.ts'
import { isUnavailableError } from '../infra/unavailable.ts'

/** An error that becomes a gRPC status as it is (code + message sent to the client). */
export class GrpcError extends Error implements ServerErrorResponse {
  override name = 'GrpcError'
  constructor(
    readonly code: status,
    readonly details: string,
  ) {
    super(details)
  }
}

/** Bad input: INVALID_ARGUMENT with a message that starts with the field's name. */
export const invalid = (field: string, problem: string) =>
  new GrpcError(status.INVALID_ARGUMENT, `${field}: ${problem}`)

/** The HTTP status of an AppError (API.md codes) → the gRPC status with the same meaning. */
const BY_HTTP_STATUS: Record<number, status> = {
  400: status.INVALID_ARGUMENT,
  401: status.UNAUTHENTICATED,
  403: status.PERMISSION_DENIED,
  404: status.NOT_FOUND,
  409: status.FAILED_PRECONDITION,
  413: status.RESOURCE_EXHAUSTED,
  429: status.RESOURCE_EXHAUSTED,
  503: status.UNAVAILABLE,
}

/**
 * What the client is told about a failure: our own statuses and AppErrors keep their message; a backing
 * server that is down is UNAVAILABLE; anything else is a bug, logged here and answered INTERNAL without
 * details (like the HTTP error handler hides 5xx messages).
 */
export function toGrpcError(error: unknown, log: Logger, method: string): GrpcError {
  if (error instanceof GrpcError) return error
  if (error instanceof AppError && error.status < 500)
    return new GrpcError(BY_HTTP_STATUS[error.status] ?? status.FAILED_PRECONDITION, error.message)
  if ((error instanceof AppError && error.code === 'unavailable') || isUnavailableError(error)) {
    log.warn({ err: error, method }, 'gRPC: backing server unavailable')
    return new GrpcError(status.UNAVAILABLE, 'a backing server is unavailable, try again shortly')
  }
  log.error({ err: error, method }, 'gRPC handler failed')
  return new GrpcError(status.INTERNAL, 'internal error')
}

export const statusName = (code: status): string => status[code] ?? String(code)
