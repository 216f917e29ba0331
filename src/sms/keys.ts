/**
 * Redis names of the SMS feature. The per-phone limit is a limiter log (src/ratelimit) under the tag
 * `{sms:<lookup>}` (the phone's keyed HMAC, phone-vault.ts: no key names the number), so every key about one
 * phone's sending sits on one Cluster slot.
 */
export const limiterPrefix = (prefix: string) => `${prefix}:rl`
export const phoneSubject = (phoneLookup: string) => `sms:${phoneLookup}`
