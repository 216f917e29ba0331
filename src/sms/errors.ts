import { defineErrors } from '../errors.ts'

/** The SMS feature's error codes and their HTTP status (`rate_limited` is shared: src/errors.ts). */
export const smsErrors = defineErrors({
  invalid_phone: 400,
  invalid_content: 400,
  sms_not_found: 404,
})
