import type { Feature, FeatureContext } from '../feature.ts'
import { createLimiter } from '../ratelimit/index.ts'
import { secretResolver } from '../verification/secret.ts'
import { registerDeliveryTask } from './deliver.ts'
import { limiterPrefix } from './keys.ts'
import { createPhoneVault } from './phone-vault.ts'
import { aliyunSettings, createProvider } from './providers/index.ts'
import { registerAliyunReceipts } from './receipt-poll.ts'
import { receiptRoutes } from './receipt-routes.ts'
import { smsRoutes } from './routes.ts'
import { createSealer } from './sealed.ts'
import { createSmsService } from './service.ts'
import { createSmsStore } from './store.ts'

/** SMS: POST/GET routes, the per-phone sliding-window limit, and the delivery task with its provider. */
export function createSmsFeature(ctx: FeatureContext) {
  const { config } = ctx
  const store = createSmsStore(ctx.db, ctx.domainEvents)
  // Sealed texts use a key derived from the verification secret (they are verification codes).
  const closers: (() => Promise<void>)[] = []
  const secret = secretResolver(config.verification.secret, config.dataDir)
  const sealer = createSealer(secret)
  // Phones at rest: sealed, with a keyed HMAC for lookups and Redis key names (phone-vault.ts).
  const phones = createPhoneVault(secret)
  const limiter = createLimiter(ctx.redis, limiterPrefix(ctx.prefix), { name: 'sms', metrics: ctx.metrics })
  const service = createSmsService({
    db: ctx.db,
    store,
    limiter,
    producer: ctx.tasks.producer,
    log: ctx.log,
    budgets: {
      perPhone: { limit: config.sms.limitSegments, windowMs: config.sms.limitWindowSeconds * 1000 },
      perAddress: { limit: config.sms.addressLimit, windowMs: config.sms.addressWindowSeconds * 1000 },
      global: { limit: config.sms.globalLimit, windowMs: config.sms.globalWindowSeconds * 1000 },
      allowedCountries: config.sms.allowedCountries,
    },
    sealer,
    phones,
  })
  registerDeliveryTask(ctx.tasks.registry, {
    store,
    producer: ctx.tasks.producer,
    provider: createProvider(
      config.sms,
      ctx.db,
      sealer,
      {
        phones,
        log: ctx.log,
        onReceipt: (gateway, receipt) => store.applyReceipt({ gateway, ...receipt }),
        closers,
      },
      ctx.metrics,
    ),
    sealer,
    phones,
    log: ctx.log,
    maxAttempts: config.sms.maxAttempts,
    retryBaseMs: config.sms.retryBaseMs,
    retryMaxSeconds: config.sms.retryMaxSeconds,
  })
  if (config.sms.providers.includes('aliyun'))
    registerAliyunReceipts(ctx.tasks.registry, ctx.schedule, {
      store,
      phones,
      settings: aliyunSettings(config.sms.gateways),
      timeoutMs: config.sms.gateways.timeoutMs,
      pollSeconds: config.sms.gateways.aliyun.receiptPollSeconds,
      log: ctx.log,
    })
  const feature: Feature = {
    name: 'sms',
    // Gateway connections (the SMPP bind) close with the app.
    stop: async () => {
      await Promise.all(closers.map((close) => close()))
    },
    routes: (http) => {
      smsRoutes(http, { sms: service, admin: ctx.admin })
      receiptRoutes(http, { sms: service, gateways: config.sms.gateways })
    },
  }
  return { feature, service, limiter }
}
