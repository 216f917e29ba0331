/**
 * Every error a client can see has a stable snake_case code and an HTTP status, made here and nowhere else
 * (API.md "Errors"). Clients match on `code`, never on `message`.
 */
export const errorCodes = {
  not_found: 404,
  invalid_json: 400,
  bad_url: 400,
  bad_request: 400,
  validation_failed: 400,
  payload_too_large: 413,
  unsupported_media_type: 415,
  unauthorized: 401,
  unavailable: 503,
  internal_error: 500,
  item_not_found: 404,
  rate_limited: 429,
  invalid_phone: 400,
  invalid_content: 400,
  sms_not_found: 404,
  invalid_code: 400,
  code_expired: 400,
  too_many_attempts: 429,
  banner_not_found: 404,
  product_not_found: 404,
  not_started: 403,
  ended: 403,
  already_purchased: 409,
  sold_out: 409,
} as const

export type ErrorCode = keyof typeof errorCodes | (string & {})

export class AppError extends Error {
  readonly status: number
  readonly details: Record<string, unknown> | undefined

  constructor(
    readonly code: ErrorCode,
    message: string,
    options: { status?: number; details?: Record<string, unknown>; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause })
    this.name = 'AppError'
    this.status = options.status ?? (errorCodes as Record<string, number>)[code] ?? 400
    this.details = options.details
  }
}

/** A backing server (Redis, RabbitMQ, SQL) could not answer: the client should retry later. */
export function unavailable(what: string, cause?: unknown): AppError {
  return new AppError('unavailable', `${what} is unavailable, try again shortly`, { cause })
}
