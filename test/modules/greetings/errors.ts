import { defineErrors } from '../../../src/errors.ts'

/** The example module's own error codes and their HTTP status. */
export const greetingErrors = defineErrors({ name_too_long: 422 })
