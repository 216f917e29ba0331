import { createHash } from 'node:crypto'
import { GatewayError, type GatewayErrorKind, gatewayFetch, gatewayJson } from './errors.ts'
import type { SmsProvider } from './types.ts'

/**
 * ihuyi (互亿无线), the gateway of the original system. Wire format from its published interface document
 * ("互亿无线短信验证码 API v3.3", 2018-05-16, and the demos shipped with it): a form POST of `account` (APIID),
 * `password`, `mobile` (one 11-digit mainland number), `content` (UTF-8, up to 300 characters), `time` and
 * `format=json` to `…/webservice/sms.php?method=Submit`; the answer is `{"code":2,"msg":"提交成功","smsid":"…"}`
 * on success, any other `code` is an error. `password` is the document's "dynamic password" (§8):
 * md5(account + APIKEY + mobile + content + time), time a 10-digit Unix timestamp, so the APIKEY itself never
 * travels (the document's other option, the APIKEY in clear, is not used). ihuyi splits long texts itself, so the
 * whole text goes as one message.
 */
export interface IhuyiSettings {
  account: string
  password: string
  url: string
}

// Error codes of the v3.3 document (§3.5), by what they mean for the message. Everything unlisted is retried
// later: 0 (submit failed) and 40501 (dynamic password expired: a clock or a queue delay, a fresh time may pass).
const FINAL = new Set([
  400, // IP not allowed
  401, // account empty
  402, // password empty
  403, // mobile empty
  4030, // number black-listed
  404, // content empty
  405, // APIID / APIKEY wrong
  4050, // account frozen
  40502, // dynamic password does not check (a wrong APIKEY)
  4051, // balance used up
  4052, // caller IP does not match the registered one
  406, // malformed mobile number
  407, // content holds blocked words
  4070, // malformed signature
  4071, // no registered template
  4072, // content does not match an approved template
  40722, // a variable is longer than the template allows
  4073, // content too long
  4074, // content holds emoji
  4075, // signature not approved
  408, // the number went over the sending limit and is black-listed (released in ihuyi's back office)
])
// Frequency limits per number (per second / minute / day, same content; 4080, 4082 and 4085 in v3.3, the others
// in later versions): the gateway asks us to slow down.
const THROTTLED = new Set([4080, 4081, 4082, 4083, 4084, 4085, 4086])

/** §8 of the document: md5 over account, APIKEY, mobile, content and time, UTF-8, lower-case hex. */
export function ihuyiDynamicPassword(
  account: string,
  apiKey: string,
  mobile: string,
  content: string,
  time: string,
): string {
  return createHash('md5').update(`${account}${apiKey}${mobile}${content}${time}`, 'utf8').digest('hex')
}

// Final refusals about the APIID's account (credentials, IP, balance, signature, registered templates), not the
// message: a fail-over list moves on to its next gateway.
const ACCOUNT = new Set([400, 401, 402, 405, 4050, 40502, 4051, 4052, 4070, 4071, 4072, 40722, 4075])

function ihuyiErrorKind(code: number): GatewayErrorKind {
  if (THROTTLED.has(code)) return 'throttled'
  return FINAL.has(code) ? 'final' : 'retry'
}

export function createIhuyiProvider(settings: IhuyiSettings, timeoutMs: number): SmsProvider {
  return {
    name: 'ihuyi',
    wholeText: true,
    async send(sms) {
      if (sms.sentParts?.has(0)) return // ihuyi took it in an earlier attempt
      if (!sms.phone.startsWith('+86'))
        throw new GatewayError('ihuyi', 'final', "ihuyi's domestic interface sends to +86 numbers only")
      const mobile = sms.phone.slice(3)
      const content = sms.parts.join('')
      const time = String(Math.floor(Date.now() / 1000))
      const form = new URLSearchParams({
        account: settings.account,
        password: ihuyiDynamicPassword(settings.account, settings.password, mobile, content, time),
        mobile,
        content,
        time,
        format: 'json',
      })
      const res = await gatewayFetch(
        'ihuyi',
        settings.url,
        { method: 'POST', body: form, headers: { 'content-type': 'application/x-www-form-urlencoded' } },
        timeoutMs,
      )
      const answer = (await gatewayJson('ihuyi', res)) as { code?: unknown; msg?: unknown; smsid?: unknown }
      const code = Number(answer?.code)
      if (!Number.isInteger(code)) throw new GatewayError('ihuyi', 'retry', 'answer without a numeric code')
      if (code === 2) {
        const id = answer.smsid
        if ((typeof id !== 'string' && typeof id !== 'number') || String(id) === '' || String(id) === '0')
          throw new GatewayError('ihuyi', 'retry', 'success answer without an smsid')
        await sms.onPartSent?.(0, 'ihuyi', String(id))
        return
      }
      const msg = typeof answer.msg === 'string' ? answer.msg.slice(0, 120) : ''
      throw new GatewayError(
        'ihuyi',
        ihuyiErrorKind(code),
        `code ${code}${msg ? ` (${msg})` : ''}`,
        String(code),
        { account: ACCOUNT.has(code) },
      )
    },
  }
}
