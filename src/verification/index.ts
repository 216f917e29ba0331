import type { Feature, FeatureContext } from '../feature.ts'
import { loadScripts } from '../infra/redis.ts'
import { createLimiter } from '../ratelimit/index.ts'
import type { SmsService } from '../sms/service.ts'
import { limiterPrefix } from './keys.ts'
import { verificationRoutes } from './routes.ts'
import { secretResolver } from './secret.ts'
import { createVerificationService } from './service.ts'

/** Verification codes: request (sent by SMS) and check, on top of the SMS feature's service. */
export function createVerificationFeature(ctx: FeatureContext, deps: { sms: SmsService }) {
  loadScripts(ctx.redis, new URL('./', import.meta.url))
  const { verification } = ctx.config
  const service = createVerificationService({
    redis: ctx.redis,
    prefix: ctx.prefix,
    sms: deps.sms,
    limiter: createLimiter(ctx.redis, limiterPrefix(ctx.prefix), {
      name: 'verification',
      metrics: ctx.metrics,
    }),
    secret: secretResolver(verification.secret, ctx.config.dataDir),
    settings: verification,
  })
  const feature: Feature = {
    name: 'verification',
    routes: (http) => verificationRoutes(http, { verification: service }),
  }
  return { feature, service }
}
