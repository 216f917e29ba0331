import { ConfigError, type Env, integer, text } from '../config.ts'

/** The SMS feature's settings (SMS_*), validated with the rest of the configuration at start. */
export interface SmsConfig {
  /** Per-phone limit: at most this many segments per phone within any window of `limitWindowSeconds`. */
  limitSegments: number
  limitWindowSeconds: number
  /** Delivery attempts per message before it is `failed` (the first one included). */
  maxAttempts: number
  /** Backoff between attempts: base * 2^n ms (with jitter), capped at `retryMaxSeconds`. */
  retryBaseMs: number
  retryMaxSeconds: number
  /** With SMS_PROVIDER=flaky: attempts of each message that fail before one succeeds. */
  flakyFailures: number
  /** Segments sent for one client address / for the whole deployment per window (0: no limit). */
  addressLimit: number
  addressWindowSeconds: number
  globalLimit: number
  globalWindowSeconds: number
  /** Country calling codes SMS may go to (`86`, `852`); empty: any. */
  allowedCountries: string[]
  /** SMS_PROVIDER: one provider, or gateways in fail-over order. */
  providers: SmsProviderName[]
  gateways: SmsGatewaysConfig
}

/** The gateways' credentials and endpoints (IHUYI_*, ALIYUN_*, TWILIO_*, SMPP_*, SMS_GATEWAY_*, SMS_BREAKER_*). */
export interface SmsGatewaysConfig {
  ihuyi: { account?: string; password?: string; url: string; receiptSecret?: string }
  smpp: { url?: string; sourceAddr?: string; enquireLinkMs: number }
  aliyun: {
    accessKeyId?: string
    accessKeySecret?: string
    signName?: string
    /** Template for verification codes (its variable `${code}`), and for every other SMS (`${templateParam}`). */
    codeTemplate?: string
    template?: string
    templateParam: string
    url: string
    receiptPollSeconds: number
  }
  twilio: {
    accountSid?: string
    authToken?: string
    from?: string
    messagingServiceSid?: string
    /** Public URL of /api/sms/receipts/twilio, exactly as Twilio calls it (the signature covers it). */
    statusCallbackUrl?: string
    url: string
  }
  timeoutMs: number
  /** Circuit breaker per gateway: consecutive failures that open it, and how long it stays open. */
  breakerFailures: number
  breakerOpenMs: number
}

export function loadSmsConfig(env: Env): SmsConfig {
  return {
    limitSegments: integer(env, 'SMS_LIMIT_SEGMENTS', 5, 1, 1_000_000),
    limitWindowSeconds: integer(env, 'SMS_LIMIT_WINDOW_SECONDS', 60, 1, 86_400),
    maxAttempts: integer(env, 'SMS_MAX_ATTEMPTS', 5, 1, 50),
    retryBaseMs: integer(env, 'SMS_RETRY_BASE_MS', 2000, 1, 3_600_000),
    retryMaxSeconds: integer(env, 'SMS_RETRY_MAX_SECONDS', 300, 1, 86_400),
    flakyFailures: integer(env, 'SMS_FLAKY_FAILURES', 2, 0, 1_000),
    addressLimit: integer(env, 'SMS_ADDRESS_LIMIT', 100, 0, 1_000_000),
    addressWindowSeconds: integer(env, 'SMS_ADDRESS_WINDOW_SECONDS', 3600, 1, 86_400),
    globalLimit: integer(env, 'SMS_GLOBAL_LIMIT', 10_000, 0, 1_000_000),
    globalWindowSeconds: integer(env, 'SMS_GLOBAL_WINDOW_SECONDS', 3600, 1, 86_400),
    allowedCountries: countryCodes(env, 'SMS_ALLOWED_COUNTRIES'),
    providers: smsProviders(env),
    gateways: loadSmsGatewaysConfig(env),
  }
}

export function loadSmsGatewaysConfig(env: Env): SmsGatewaysConfig {
  return {
    ihuyi: {
      account: text(env, 'IHUYI_ACCOUNT'),
      password: text(env, 'IHUYI_PASSWORD'),
      url: text(env, 'IHUYI_URL') ?? 'https://106.ihuyi.com/webservice/sms.php?method=Submit',
      receiptSecret: text(env, 'IHUYI_RECEIPT_SECRET'),
    },
    smpp: {
      url: text(env, 'SMPP_URL'),
      sourceAddr: text(env, 'SMPP_SOURCE_ADDR'),
      enquireLinkMs: integer(env, 'SMPP_ENQUIRE_LINK_SECONDS', 30, 1, 3600) * 1000,
    },
    aliyun: {
      accessKeyId: text(env, 'ALIYUN_ACCESS_KEY_ID'),
      accessKeySecret: text(env, 'ALIYUN_ACCESS_KEY_SECRET'),
      signName: text(env, 'ALIYUN_SIGN_NAME'),
      codeTemplate: text(env, 'ALIYUN_CODE_TEMPLATE'),
      template: text(env, 'ALIYUN_TEMPLATE'),
      templateParam: text(env, 'ALIYUN_TEMPLATE_PARAM') ?? 'content',
      url: text(env, 'ALIYUN_URL') ?? 'https://dysmsapi.aliyuncs.com/',
      receiptPollSeconds: integer(env, 'ALIYUN_RECEIPT_POLL_SECONDS', 60, 1, 86_400),
    },
    twilio: {
      accountSid: text(env, 'TWILIO_ACCOUNT_SID'),
      authToken: text(env, 'TWILIO_AUTH_TOKEN'),
      from: text(env, 'TWILIO_FROM'),
      messagingServiceSid: text(env, 'TWILIO_MESSAGING_SERVICE_SID'),
      statusCallbackUrl: text(env, 'TWILIO_STATUS_CALLBACK_URL'),
      url: text(env, 'TWILIO_URL') ?? 'https://api.twilio.com',
    },
    timeoutMs: integer(env, 'SMS_GATEWAY_TIMEOUT_MS', 10_000, 100, 120_000),
    breakerFailures: integer(env, 'SMS_BREAKER_FAILURES', 5, 1, 1_000_000),
    breakerOpenMs: integer(env, 'SMS_BREAKER_OPEN_SECONDS', 30, 1, 3600) * 1000,
  }
}

const SMS_PROVIDERS = ['outbox', 'flaky', 'ihuyi', 'aliyun', 'twilio', 'smpp'] as const
export type SmsProviderName = (typeof SMS_PROVIDERS)[number]

/** SMS_PROVIDER: `outbox`, `flaky`, or a gateway; several gateways comma-separated are a fail-over order. */
export function smsProviders(env: Env): SmsProviderName[] {
  const raw = text(env, 'SMS_PROVIDER') ?? 'outbox'
  const names = raw.split(',').map((n) => n.trim())
  for (const name of names) {
    if (!(SMS_PROVIDERS as readonly string[]).includes(name))
      throw new ConfigError(
        'SMS_PROVIDER',
        `must be one of ${SMS_PROVIDERS.join(', ')} (or a comma list), got "${raw}"`,
      )
  }
  const gateways = ['ihuyi', 'aliyun', 'twilio', 'smpp']
  if (names.includes('smpp') && !/^smpps?:\/\/[^:@/]+:[^@/]+@[^/]+$/.test(text(env, 'SMPP_URL') ?? ''))
    throw new ConfigError('SMPP_URL', 'smpp needs SMPP_URL=smpp://system_id:password@host:port')
  if (names.length > 1 && !names.every((n) => gateways.includes(n)))
    throw new ConfigError(
      'SMS_PROVIDER',
      `a fail-over list names gateways only (${gateways.join(', ')}), got "${raw}"`,
    )
  if (names.includes('ihuyi') && (!text(env, 'IHUYI_ACCOUNT') || !text(env, 'IHUYI_PASSWORD')))
    throw new ConfigError('SMS_PROVIDER', 'ihuyi needs IHUYI_ACCOUNT (APIID) and IHUYI_PASSWORD (APIKEY)')
  if (names.includes('aliyun')) {
    for (const name of ['ALIYUN_ACCESS_KEY_ID', 'ALIYUN_ACCESS_KEY_SECRET', 'ALIYUN_SIGN_NAME'])
      if (!text(env, name)) throw new ConfigError(name, 'aliyun needs an AccessKey pair and a SignName')
    if (!text(env, 'ALIYUN_CODE_TEMPLATE') && !text(env, 'ALIYUN_TEMPLATE'))
      throw new ConfigError(
        'ALIYUN_TEMPLATE',
        'aliyun sends registered templates only: set ALIYUN_CODE_TEMPLATE and/or ALIYUN_TEMPLATE',
      )
  }
  if (names.includes('twilio')) {
    if (!text(env, 'TWILIO_ACCOUNT_SID') || !text(env, 'TWILIO_AUTH_TOKEN'))
      throw new ConfigError('SMS_PROVIDER', 'twilio needs TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN')
    if (!/^AC[0-9a-fA-F]{32}$/.test(text(env, 'TWILIO_ACCOUNT_SID') ?? ''))
      throw new ConfigError('TWILIO_ACCOUNT_SID', 'must be an account SID: AC and 32 hex digits')
    if (!text(env, 'TWILIO_FROM') && !text(env, 'TWILIO_MESSAGING_SERVICE_SID'))
      throw new ConfigError('TWILIO_FROM', 'twilio needs TWILIO_FROM or TWILIO_MESSAGING_SERVICE_SID')
  }
  return names as SmsProviderName[]
}

/** `86,852` or `+86,+852`: E.164 country calling codes (1 to 3 digits, not starting with 0). */
function countryCodes(env: Env, name: string): string[] {
  const value = text(env, name)
  if (value === undefined || value.trim() === '') return []
  return value.split(',').map((part) => {
    const code = part.trim().replace(/^\+/, '')
    if (!/^[1-9]\d{0,2}$/.test(code))
      throw new ConfigError(name, `must be country calling codes like 86,852 (got "${part.trim()}")`)
    return code
  })
}
