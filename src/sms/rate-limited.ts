import { AppError } from '../errors.ts'
import { retryAfterSeconds } from '../ratelimit/index.ts'

/**
 * The 429 of API.md: `rate_limited` with `retryAfter` (whole seconds, ≥ 1) in the body and the same value in
 * a `Retry-After` header (set here on the reply; the error handler keeps it).
 */
export function rateLimited(
  reply: { header(name: string, value: string): unknown },
  retryAfterMs: number,
  message: string,
): AppError {
  const retryAfter = retryAfterSeconds(retryAfterMs)
  reply.header('retry-after', String(retryAfter))
  return new AppError('rate_limited', `${message}; retry in ${retryAfter} s`, { details: { retryAfter } })
}
