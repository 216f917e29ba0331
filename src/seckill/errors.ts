import { defineErrors } from '../errors.ts'

/** The flash sale's error codes and their HTTP status: a buy attempt's refusals (admission.ts `Refusal`). */
export const seckillErrors = defineErrors({
  product_not_found: 404,
  not_started: 403,
  ended: 403,
  already_purchased: 409,
  sold_out: 409,
})
