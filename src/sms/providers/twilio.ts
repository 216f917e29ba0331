import twilio from 'twilio'
import { GatewayError, type GatewayErrorKind } from './errors.ts'
import type { SmsProvider } from './types.ts'

/**
 * Twilio's Messages API (twilio.com/docs/messaging/api/message-resource#create-a-message-resource) through the
 * official `twilio` SDK: POST /2010-04-01/Accounts/{AccountSid}/Messages.json, form fields `To` (E.164), `From`
 * or `MessagingServiceSid`, `Body`, `StatusCallback`, HTTP basic auth with the account SID and auth token; the
 * answer is the Message resource (201, `sid` "SM…", `status` queued). Twilio splits long texts itself (up to
 * 1600 characters): the whole text goes as one message. Errors are `{"code","message","more_info","status"}`.
 */
export interface TwilioSettings {
  accountSid: string
  authToken: string
  from?: string
  messagingServiceSid?: string
  /** Where Twilio posts status callbacks; unset, no receipts (the message stays `sent`). */
  statusCallbackUrl?: string
  /** The REST API's base, `https://api.twilio.com` (a test server in the tests). */
  url: string
}

// Error codes (twilio.com/docs/api/errors) the message itself can never get past: wrong or unreachable number,
// opted out, blocked content, a sender or account that is not allowed. Other 4xx answers are final too.
const THROTTLED = new Set([
  20429, // Too Many Requests (account-wide API concurrency)
  14107, // SMS send rate limit exceeded
  30022, // US A2P 10DLC rate limit exceeded
])

// Final refusals about the account or its sender, not the message: credentials (20003), a Messaging Service or
// resource that is not there (20404), a From that is not the account's or not SMS-capable (21212, 21606, 21659,
// 21660), none given (21603), a region the account may not send to or cannot route (21408, 21612).
const ACCOUNT = new Set([20003, 20404, 21212, 21408, 21603, 21606, 21612, 21659, 21660])

function twilioErrorKind(status: number, code: number | undefined): GatewayErrorKind {
  if (status === 429 || (code !== undefined && THROTTLED.has(code))) return 'throttled'
  // 4xx: the request (number, body, sender, credentials) is wrong, not the moment; 5xx and others: retry.
  return status >= 400 && status < 500 ? 'final' : 'retry'
}

/** Twilio's messages quote the number (21211: "The 'To' number +1… is not a valid phone number"): never stored. */
const withoutNumbers = (text: string) => text.replace(/\+?\d[\d ()-]{5,}\d/g, '…').slice(0, 160)

function gatewayError(error: unknown): GatewayError {
  if (error instanceof twilio.RestException) {
    const code = typeof error.code === 'number' ? error.code : undefined
    const kind = twilioErrorKind(error.status, code)
    const detail = code === undefined ? `HTTP ${error.status}` : `code ${code}`
    const message = code === undefined ? '' : withoutNumbers(String(error.message ?? ''))
    return new GatewayError(
      'twilio',
      kind,
      `${detail}${message ? ` (${message})` : ''}`,
      String(code ?? error.status),
      { account: error.status === 401 || error.status === 403 || (code !== undefined && ACCOUNT.has(code)) },
    )
  }
  // Never quote the SDK's error: axios errors carry the request (its Authorization header and the text).
  const e = error as { code?: unknown; name?: unknown }
  if (e.code === 'ECONNABORTED' || e.code === 'ETIMEDOUT')
    return new GatewayError('twilio', 'retry', 'no answer in time')
  if (e.name === 'SyntaxError') return new GatewayError('twilio', 'retry', 'answer is not JSON')
  return new GatewayError(
    'twilio',
    'retry',
    typeof e.code === 'string' ? `unreachable (${e.code})` : 'unreachable',
  )
}

export function createTwilioProvider(settings: TwilioSettings, timeoutMs: number): SmsProvider {
  const client = twilio(settings.accountSid, settings.authToken, { timeout: timeoutMs, autoRetry: false })
  // The SDK has no option for its REST host; its domain's base URL is a public property, set once here.
  client.api.baseUrl = settings.url
  const sender = settings.messagingServiceSid
    ? { messagingServiceSid: settings.messagingServiceSid }
    : { from: settings.from ?? '' }
  return {
    name: 'twilio',
    wholeText: true,
    async send(sms) {
      if (sms.sentParts?.has(0)) return // Twilio took it in an earlier attempt
      let sid: unknown
      try {
        const message = await client.messages.create({
          to: sms.phone,
          body: sms.parts.join(''),
          ...sender,
          ...(settings.statusCallbackUrl ? { statusCallback: settings.statusCallbackUrl } : {}),
        })
        sid = message.sid
      } catch (error) {
        throw gatewayError(error)
      }
      if (typeof sid !== 'string' || (!sid.startsWith('SM') && !sid.startsWith('MM')))
        throw new GatewayError('twilio', 'retry', 'answer without a message sid')
      await sms.onPartSent?.(0, 'twilio', sid)
    },
  }
}

/** Twilio's statuses (twilio.com/docs/messaging/api/message-resource#message-status-values) a receipt settles. */
export function twilioReceipt(status: string): 'delivered' | 'undelivered' | undefined {
  if (status === 'delivered' || status === 'read') return 'delivered'
  if (status === 'undelivered' || status === 'failed') return 'undelivered'
  return undefined // queued, accepted, sending, sent, scheduled, …: not final yet
}

/**
 * X-Twilio-Signature as Twilio documents it (twilio.com/docs/usage/security#validating-requests): HMAC-SHA1 with
 * the auth token over the full URL Twilio called followed by each POST parameter's name and value, sorted by
 * name, base64. The SDK's helper does it (and the port variants Twilio may have signed).
 */
export const validTwilioSignature = (
  authToken: string,
  signature: string,
  url: string,
  params: Record<string, unknown>,
) => twilio.validateRequest(authToken, signature, url, params)
