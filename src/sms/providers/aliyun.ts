import { type AliyunCredentials, callAliyun } from './aliyun-rpc.ts'
import { GatewayError, type GatewayErrorKind } from './errors.ts'
import { verificationCode } from './templates.ts'
import type { SmsProvider } from './types.ts'

/**
 * Aliyun SMS (dysmsapi 2017-05-25). `SendSms` (help.aliyun.com/document_detail/419273.html): `PhoneNumbers`,
 * `SignName`, `TemplateCode`, `TemplateParam` (a JSON object of strings); success is `{"Code":"OK","BizId":…}`,
 * anything else names its error in `Code`. Aliyun sends registered templates only: a verification code goes
 * through ALIYUN_CODE_TEMPLATE as `{"code":"…"}`, any other SMS through ALIYUN_TEMPLATE with the whole text in
 * its one variable (ALIYUN_TEMPLATE_PARAM). Aliyun splits long texts itself: one message, one BizId.
 */
export interface AliyunSettings extends AliyunCredentials {
  signName: string
  codeTemplate?: string
  template?: string
  templateParam: string
  url: string
}

// Error codes of SendSms ("短信服务API错误码", help.aliyun.com/document_detail/101346.html) and of the RPC
// gateway's common errors, by what they mean for the message (everything unlisted: retry later).
const FINAL = new Set([
  'isv.MOBILE_NUMBER_ILLEGAL',
  'isv.MOBILE_COUNT_OVER_LIMIT',
  'isv.AMOUNT_NOT_ENOUGH',
  'isv.OUT_OF_SERVICE',
  'isv.PRODUCT_UN_SUBSCRIPT',
  'isv.PRODUCT_UNSUBSCRIBE',
  'isv.ACCOUNT_NOT_EXISTS',
  'isv.ACCOUNT_ABNORMAL',
  'isv.SMS_TEMPLATE_ILLEGAL',
  'isv.SMS_SIGNATURE_ILLEGAL',
  'isv.SMS_SIGNATURE_SCENE_ILLEGAL',
  'isv.TEMPLATE_MISSING_PARAMETERS',
  'isv.TEMPLATE_PARAMS_ILLEGAL',
  'isv.INVALID_PARAMETERS',
  'isv.INVALID_JSON_PARAM',
  'isv.BLACK_KEY_CONTROL_LIMIT',
  'isv.PARAM_LENGTH_LIMIT',
  'isv.PARAM_NOT_SUPPORT_URL',
  'isv.DENY_IP_RANGE',
  'isv.SMS_CONTENT_ILLEGAL',
  'isv.DOMESTIC_NUMBER_NOT_SUPPORTED',
  'isv.NOT_SUPPORTED_COUNTRY',
  'isv.COUNTRY_RESTRICTED',
  'isp.RAM_PERMISSION_DENY',
  // The RPC gateway's own refusals: the request or the AccessKey is wrong, not the moment.
  'SignatureDoesNotMatch',
  'IncompleteSignature',
  'InvalidAccessKeyId.NotFound',
  'InvalidAccessKeyId.Inactive',
  'Forbidden.RAM',
  'InvalidVersion',
  'InvalidAction.NotFound',
])
// Frequency controls per number (1/min, 5/hour, 10/day for codes) and API flow control: slow down.
const THROTTLED = new Set([
  'isv.BUSINESS_LIMIT_CONTROL',
  'isv.DAY_LIMIT_CONTROL',
  'isv.MONTH_LIMIT_CONTROL',
  'Throttling',
  'Throttling.User',
  'Throttling.Api',
])

// Final refusals about the AccessKey's account (balance, subscription, sign, template, RAM, IP, countries it may
// reach), not the message: a fail-over list moves on to its next gateway.
const ACCOUNT = new Set([
  'isv.AMOUNT_NOT_ENOUGH',
  'isv.OUT_OF_SERVICE',
  'isv.PRODUCT_UN_SUBSCRIPT',
  'isv.PRODUCT_UNSUBSCRIBE',
  'isv.ACCOUNT_NOT_EXISTS',
  'isv.ACCOUNT_ABNORMAL',
  'isv.SMS_TEMPLATE_ILLEGAL',
  'isv.SMS_SIGNATURE_ILLEGAL',
  'isv.SMS_SIGNATURE_SCENE_ILLEGAL',
  'isv.DENY_IP_RANGE',
  'isv.DOMESTIC_NUMBER_NOT_SUPPORTED',
  'isv.NOT_SUPPORTED_COUNTRY',
  'isv.COUNTRY_RESTRICTED',
  'isp.RAM_PERMISSION_DENY',
  'SignatureDoesNotMatch',
  'IncompleteSignature',
  'InvalidAccessKeyId.NotFound',
  'InvalidAccessKeyId.Inactive',
  'Forbidden.RAM',
])

export function aliyunErrorKind(code: string): GatewayErrorKind {
  if (THROTTLED.has(code)) return 'throttled'
  if (FINAL.has(code) || code.startsWith('MissingParameter') || code.startsWith('Missing')) return 'final'
  return 'retry'
}

const gatewayError = (answer: Record<string, unknown>) => {
  const code = String(answer.Code)
  // Message text of Aliyun's own making (it never echoes the phone or the parameters); kept short.
  const message = typeof answer.Message === 'string' ? answer.Message.slice(0, 120) : ''
  return new GatewayError('aliyun', aliyunErrorKind(code), `${code}${message ? ` (${message})` : ''}`, code, {
    account: ACCOUNT.has(code),
  })
}

/** One signed dysmsapi call (SendSms, QuerySendDetails): any answer but `Code: OK` is a typed gateway error. */
async function signedRequest(
  settings: AliyunSettings,
  timeoutMs: number,
  action: string,
  params: Record<string, string>,
): Promise<Record<string, unknown>> {
  const answer = await callAliyun(settings.url, settings, action, params, timeoutMs)
  if (answer.Code !== 'OK') throw gatewayError(answer)
  return answer
}

/** PhoneNumbers: an 11-digit mainland number as is, any other as country code + number without `+`. */
export const aliyunPhone = (e164: string) => (e164.startsWith('+86') ? e164.slice(3) : e164.slice(1))

export function createAliyunProvider(settings: AliyunSettings, timeoutMs: number): SmsProvider {
  return {
    name: 'aliyun',
    wholeText: true,
    async send(sms) {
      if (sms.sentParts?.has(0)) return // Aliyun took it in an earlier attempt
      const code = verificationCode(sms)
      const [template, param] = code
        ? [settings.codeTemplate, { code }]
        : [settings.template, { [settings.templateParam]: sms.parts.join('') }]
      if (!template)
        throw new GatewayError(
          'aliyun',
          'final',
          code
            ? 'no template for verification codes (ALIYUN_CODE_TEMPLATE)'
            : 'no template for this SMS (ALIYUN_TEMPLATE)',
          undefined,
          { account: true }, // another gateway needs no template
        )
      const answer = await signedRequest(settings, timeoutMs, 'SendSms', {
        PhoneNumbers: aliyunPhone(sms.phone),
        SignName: settings.signName,
        TemplateCode: template,
        TemplateParam: JSON.stringify(param),
        OutId: sms.smsId,
      })
      const bizId = answer.BizId
      if (typeof bizId !== 'string' || bizId === '')
        throw new GatewayError('aliyun', 'retry', 'success answer without a BizId')
      await sms.onPartSent?.(0, 'aliyun', bizId)
    },
  }
}

export type AliyunReport =
  | { state: 'pending' }
  | { state: 'final'; delivered: boolean; error?: string; at?: string }

/** QuerySendDetails' SendDate: the day the SMS was sent, in Beijing time (UTC+8, no DST), yyyyMMdd. */
export const beijingDate = (iso: string) =>
  new Date(Date.parse(iso) + 8 * 3_600_000).toISOString().slice(0, 10).replaceAll('-', '')

/**
 * The receipt of one message (`QuerySendDetails`, help.aliyun.com/document_detail/419277.html):
 * `SmsSendDetailDTOs.SmsSendDetailDTO[]` with `SendStatus` 1 (waiting for the receipt), 2 (failed, `ErrCode`
 * says why) or 3 (delivered), `ReceiveDate` when the handset's report came.
 */
export async function queryAliyunReport(
  settings: AliyunSettings,
  timeoutMs: number,
  message: { messageId: string; phone: string; sentAt: string },
): Promise<AliyunReport> {
  const answer = await signedRequest(settings, timeoutMs, 'QuerySendDetails', {
    PhoneNumber: aliyunPhone(message.phone),
    BizId: message.messageId,
    SendDate: beijingDate(message.sentAt),
    PageSize: '10',
    CurrentPage: '1',
  })
  const list = (answer.SmsSendDetailDTOs as { SmsSendDetailDTO?: unknown } | undefined)?.SmsSendDetailDTO
  const detail = Array.isArray(list)
    ? (list[0] as { SendStatus?: unknown; ErrCode?: unknown; ReceiveDate?: unknown } | undefined)
    : undefined
  const status = Number(detail?.SendStatus)
  if (!detail || status === 1) return { state: 'pending' }
  const at = typeof detail.ReceiveDate === 'string' && detail.ReceiveDate ? detail.ReceiveDate : undefined
  if (status === 3) return { state: 'final', delivered: true, ...(at ? { at } : {}) }
  if (status === 2)
    return {
      state: 'final',
      delivered: false,
      error: `aliyun receipt ${String(detail.ErrCode ?? 'UNKNOWN').slice(0, 64)}`,
      ...(at ? { at } : {}),
    }
  return { state: 'pending' }
}
