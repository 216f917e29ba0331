/**
 * Error codes are typed: a code nobody declared does not compile (tsc runs on the tests: `npm run lint`), and the
 * HTTP status always comes from the registry that declared the code, shared or a feature's own.
 */
import { describe, expect, it } from 'vitest'
import { bannerErrors } from '../src/banners/errors.ts'
import { counterErrors } from '../src/counters/errors.ts'
import { AppError, defineErrors, errorCodes } from '../src/errors.ts'
import { seckillErrors } from '../src/seckill/errors.ts'
import { smsErrors } from '../src/sms/errors.ts'

describe('error codes', () => {
  it('a shared code carries its registered status', () => {
    expect(new AppError('unavailable', 'down').status).toBe(503)
    expect(new AppError('unauthorized', 'no').status).toBe(errorCodes.unauthorized)
  })

  it("a feature's code comes from its own registry, with its status, and is an AppError", () => {
    const error = bannerErrors.error('banner_not_found', 'banner 7 does not exist', { details: { id: 7 } })
    expect(error).toBeInstanceOf(AppError)
    expect([error.code, error.status, error.details]).toEqual(['banner_not_found', 404, { id: 7 }])
    const feature = defineErrors({ teapot_busy: 418 })
    expect(feature.error('teapot_busy', 'busy').status).toBe(418)
  })

  it("each feature's codes answer with docs/api.md's statuses, from its own errors.ts", () => {
    expect(counterErrors.error('item_not_found', 'x').status).toBe(404)
    expect(smsErrors.codes).toEqual({ invalid_phone: 400, invalid_content: 400, sms_not_found: 404 })
    expect(seckillErrors.codes).toEqual({
      product_not_found: 404,
      not_started: 403,
      ended: 403,
      already_purchased: 409,
      sold_out: 409,
    })
    // The shared registry keeps only what no one feature owns.
    expect(Object.keys(errorCodes)).not.toContain('sold_out')
    expect(Object.keys(errorCodes)).not.toContain('item_not_found')
  })

  it('an undeclared code does not type-check', () => {
    // @ts-expect-error: a feature's code is made by its own registry, not as a shared one
    new AppError('item_not_found', 'x')
    // @ts-expect-error: no string escape hatch, the code must be declared
    expect(() => new AppError('no_such_code', 'x')).not.toThrow()
    // @ts-expect-error: a feature makes only its own codes
    bannerErrors.error('sold_out', 'x')
    // @ts-expect-error: the status is never the caller's to choose
    new AppError('unavailable', 'x', { status: 200 })
  })
})
