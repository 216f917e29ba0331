/**
 * Redis keys of verification codes, all under the phone's tag `{vc:<lookup>}` (the phone's keyed HMAC,
 * src/sms/phone-vault.ts: no key names the number; one Cluster slot per phone). The send log (cooldown, hourly,
 * daily) is a limiter log of src/ratelimit under the same tag.
 */
export const codeKey = (prefix: string, phoneLookup: string) => `${prefix}:{vc:${phoneLookup}}:code`
export const limiterPrefix = (prefix: string) => `${prefix}:rl`
export const sendSubject = (phoneLookup: string) => `vc:${phoneLookup}`
