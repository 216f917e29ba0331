import { defineErrors } from '../errors.ts'

/** The banners feature's error codes and their HTTP status. */
export const bannerErrors = defineErrors({ banner_not_found: 404 })
