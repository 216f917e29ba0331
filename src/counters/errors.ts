import { defineErrors } from '../errors.ts'

/** The counters feature's error codes and their HTTP status. */
export const counterErrors = defineErrors({ item_not_found: 404 })
