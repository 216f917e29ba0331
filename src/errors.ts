/**
 * Every error a client can see has a stable snake_case code and an HTTP status (docs/api.md "Errors"); clients
 * match on `code`, never on `message`. The codes below are shared (framework, auth, backing servers, rate limits);
 * a feature declares its own with `defineErrors` in its errors.ts.
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
  rate_limited: 429,
} as const

export type ErrorCode = keyof typeof errorCodes

/** Error options a caller may give. The status is never one of them: it comes from the code's registry. */
export interface AppErrorOptions {
  details?: Record<string, unknown>
  cause?: unknown
}

/** Module-private: only defineErrors (below) can hand AppError a status, from the registry it was given. */
const STATUS = Symbol('status')

export class AppError extends Error {
  readonly status: number
  readonly details: Record<string, unknown> | undefined

  /** An error of a shared code above; a feature's own codes are made by its `defineErrors` (its errors.ts). */
  constructor(code: ErrorCode, message: string, options?: AppErrorOptions)
  constructor(code: string, message: string, options: AppErrorOptions & { [STATUS]: number })
  constructor(
    readonly code: string,
    message: string,
    options: AppErrorOptions & { [STATUS]?: number } = {},
  ) {
    super(message, { cause: options.cause })
    this.name = 'AppError'
    this.status = options[STATUS] ?? errorCodes[code as ErrorCode]
    this.details = options.details
  }
}

/**
 * A feature's own error codes, each with its HTTP status, in the feature's folder:
 *   export const bannerErrors = defineErrors({ banner_not_found: 404 })
 *   throw bannerErrors.error('banner_not_found', `banner ${id} does not exist`)
 * Only the codes given type-check; the status always comes from here.
 */
export function defineErrors<const C extends Record<string, number>>(codes: C) {
  return {
    codes,
    error: (code: Extract<keyof C, string>, message: string, options: AppErrorOptions = {}): AppError =>
      new AppError(code, message, { ...options, [STATUS]: codes[code] as number }),
  }
}

/** A backing server (Redis, RabbitMQ, SQL) could not answer: the client should retry later. */
export function unavailable(what: string, cause?: unknown): AppError {
  return new AppError('unavailable', `${what} is unavailable, try again shortly`, { cause })
}
