import { defineErrors } from '../errors.ts'

/** The verification feature's error codes and their HTTP status. */
export const verificationErrors = defineErrors({
  invalid_code: 400,
  code_expired: 400,
  too_many_attempts: 429,
})
