import type { Db } from '../../infra/db/index.ts'
import type { Logger } from '../../infra/logger.ts'
import type { Metrics } from '../../infra/metrics.ts'
import type { SmsConfig, SmsGatewaysConfig, SmsProviderName } from '../config.ts'
import type { PhoneVault } from '../phone-vault.ts'
import type { Sealer } from '../sealed.ts'
import { type AliyunSettings, createAliyunProvider } from './aliyun.ts'
import { createFailoverProvider } from './failover.ts'
import { createFlakyProvider } from './flaky.ts'
import { createIhuyiProvider } from './ihuyi.ts'
import { createOutboxProvider } from './outbox.ts'
import { createSmppProvider, type SmppReceipt } from './smpp.ts'
import { createTwilioProvider, type TwilioSettings } from './twilio.ts'
import type { SmsProvider } from './types.ts'

export type { OutgoingSms, SmsProvider } from './types.ts'

export interface GatewayDeps {
  /** Seals the phones the outbox keeps (phone-vault.ts). */
  phones: PhoneVault
  log: Logger
  /** Records a receipt a gateway pushed over its own connection (SMPP deliver_sm). */
  onReceipt: (gateway: string, receipt: SmppReceipt) => Promise<unknown>
  /** Gateways holding connections register their close here. */
  closers: (() => Promise<void>)[]
}

/** Aliyun's settings (config.ts checked the required ones are there when SMS_PROVIDER names aliyun). */
export function aliyunSettings(gateways: SmsGatewaysConfig): AliyunSettings {
  const a = gateways.aliyun
  return {
    accessKeyId: a.accessKeyId ?? '',
    accessKeySecret: a.accessKeySecret ?? '',
    signName: a.signName ?? '',
    ...(a.codeTemplate ? { codeTemplate: a.codeTemplate } : {}),
    ...(a.template ? { template: a.template } : {}),
    templateParam: a.templateParam,
    url: a.url,
  }
}

/** Twilio's settings (config.ts checked the account SID, the token and a sender are there). */
export function twilioSettings(gateways: SmsGatewaysConfig): TwilioSettings {
  const t = gateways.twilio
  return {
    accountSid: t.accountSid ?? '',
    authToken: t.authToken ?? '',
    ...(t.from ? { from: t.from } : {}),
    ...(t.messagingServiceSid ? { messagingServiceSid: t.messagingServiceSid } : {}),
    ...(t.statusCallbackUrl ? { statusCallbackUrl: t.statusCallbackUrl } : {}),
    url: t.url,
  }
}

function createGateway(name: SmsProviderName, gateways: SmsGatewaysConfig, deps: GatewayDeps): SmsProvider {
  switch (name) {
    case 'smpp': {
      const provider = createSmppProvider(
        {
          url: gateways.smpp.url ?? '',
          sourceAddr: gateways.smpp.sourceAddr,
          enquireLinkMs: gateways.smpp.enquireLinkMs,
        },
        gateways.timeoutMs,
        { log: deps.log, onReceipt: (receipt) => deps.onReceipt('smpp', receipt) },
      )
      deps.closers.push(provider.close)
      return provider
    }
    case 'ihuyi':
      return createIhuyiProvider(
        {
          account: gateways.ihuyi.account ?? '',
          password: gateways.ihuyi.password ?? '',
          url: gateways.ihuyi.url,
        },
        gateways.timeoutMs,
      )
    case 'aliyun':
      return createAliyunProvider(aliyunSettings(gateways), gateways.timeoutMs)
    case 'twilio':
      return createTwilioProvider(twilioSettings(gateways), gateways.timeoutMs)
    default:
      throw new Error(`SMS gateway ${name} is not available in this build`)
  }
}

/** The provider SMS_PROVIDER names; gateways go through the fail-over (breaker, metrics) even when alone. */
export function createProvider(
  config: SmsConfig,
  db: Db,
  sealer: Sealer,
  deps: GatewayDeps,
  metrics?: Metrics,
): SmsProvider {
  const [first = 'outbox'] = config.providers
  if (first === 'outbox') return createOutboxProvider(db, sealer, deps.phones)
  if (first === 'flaky')
    return createFlakyProvider(createOutboxProvider(db, sealer, deps.phones), config.flakyFailures)
  const gateways = config.providers.map((name) => createGateway(name, config.gateways, deps))
  return createFailoverProvider(
    gateways,
    { failures: config.gateways.breakerFailures, openMs: config.gateways.breakerOpenMs },
    metrics,
  )
}
