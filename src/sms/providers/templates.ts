import type { OutgoingSms } from './types.ts'

/**
 * The verification code inside a code SMS, for gateways that send registered templates only (Aliyun): a code SMS
 * carries its masked form (the code's digits replaced by `*`, same length), so the code is what stands where the
 * mask has stars. Undefined for any other SMS.
 */
export function verificationCode(sms: OutgoingSms): string | undefined {
  if (!sms.maskedParts) return undefined
  const text = sms.parts.join('')
  const masked = sms.maskedParts.join('')
  if (text.length !== masked.length) return undefined
  let code = ''
  for (let i = 0; i < text.length; i++) if (masked[i] === '*' && text[i] !== '*') code += text[i]
  return code === '' ? undefined : code
}
