import { GatewayError, type GatewayErrorKind, gatewayFetch, gatewayJson } from './errors.ts'
import type { SmsProvider } from './types.ts'

/**
 * ihuyi (互亿无线), the gateway of the original system. Wire format from its published interface document
 * ("互亿无线-短信验证码接口文档 v3.3" and the demos shipped with it): a form POST of `account` (APIID),
 * `password` (APIKEY), `mobile` (11-digit mainland number), `content`, `format=json` to
 * `…/webservice/sms.php?method=Submit`; the answer is `{"code":2,"msg":"提交成功","smsid":"…"}` on success,
 * any other `code` is an error. ihuyi splits long texts itself, so the whole text goes as one message.
 */
export interface IhuyiSettings {
  account: string
  password: string
  url: string
}

// Error codes of the v3.3 document, by what they mean for the message (everything unlisted: retry later).
const FINAL = new Set([
  400, // IP not allowed
  401, // account empty
  402, // password empty
  403, // mobile empty
  4030, // number black-listed
  404, // content empty
  405, // APIID / APIKEY wrong
  4050, // account frozen
  4051, // balance used up
  4052, // caller IP does not match the registered one
  406, // malformed mobile number
  407, // content holds blocked words
  4070, // malformed signature
  4071, // no registered template
  4072, // content does not match an approved template
  4073, // content too long
  4074, // content holds emoji
  4075, // signature not approved
  408, // account frozen for suspected abuse
  409, // malformed request
])
// Frequency limits per number (per second / minute / day, same content): the gateway asks us to slow down.
const THROTTLED = new Set([4080, 4081, 4082, 4083, 4084, 4085, 4086])

function ihuyiErrorKind(code: number): GatewayErrorKind {
  if (THROTTLED.has(code)) return 'throttled'
  return FINAL.has(code) ? 'final' : 'retry'
}

export function createIhuyiProvider(settings: IhuyiSettings, timeoutMs: number): SmsProvider {
  return {
    name: 'ihuyi',
    async send(sms) {
      if (sms.sentParts?.has(0)) return // ihuyi took it in an earlier attempt
      if (!sms.phone.startsWith('+86'))
        throw new GatewayError('ihuyi', 'final', "ihuyi's domestic interface sends to +86 numbers only")
      const form = new URLSearchParams({
        account: settings.account,
        password: settings.password,
        mobile: sms.phone.slice(3),
        content: sms.parts.join(''),
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
      )
    },
  }
}
