import { Type } from 'typebox'
import type { Http } from '../infra/http.ts'
import { setRateLimitHeaders } from '../ratelimit/index.ts'
import { rateLimited } from '../sms/rate-limited.ts'
import { quotaMessage } from '../sms/routes.ts'
import type { VerificationService } from './service.ts'

/** Verification codes over HTTP: parse, call the service, answer. */
export function verificationRoutes(app: Http, deps: { verification: VerificationService }) {
  const { verification } = deps

  app.post(
    '/api/verification-codes',
    {
      schema: {
        tags: ['verification'],
        body: Type.Object({ phone: Type.String() }, { additionalProperties: false }),
        response: {
          202: Type.Object({
            smsId: Type.String(),
            expiresIn: Type.Integer({ description: 'seconds the code stays valid' }),
            resendAfter: Type.Integer({ description: 'seconds before another code may be requested' }),
          }),
        },
      },
    },
    async (request, reply) => {
      const result = await verification.request(request.body.phone, request.ip)
      setRateLimitHeaders(reply, result.quota)
      if (!result.accepted) {
        const message =
          result.which === 'code' ? 'this phone cannot get another code yet' : quotaMessage[result.which]
        throw rateLimited(reply, result.retryAfterMs, message)
      }
      const { smsId, expiresIn, resendAfter } = result
      return reply.status(202).send({ smsId, expiresIn, resendAfter })
    },
  )

  app.post(
    '/api/verification-codes/check',
    {
      schema: {
        tags: ['verification'],
        body: Type.Object(
          // Any string is a guess (a malformed one is simply wrong, and counts as an attempt).
          { phone: Type.String(), code: Type.String({ maxLength: 64 }) },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ valid: Type.Literal(true) }) },
      },
    },
    async (request) => verification.check(request.body.phone, request.body.code),
  )
}
