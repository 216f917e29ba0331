/**
 * Redis names of the SMS feature. The per-phone limit is a limiter log (src/ratelimit) under the tag
 * `{sms:<phone>}`, so every key about one phone's sending sits on one Cluster slot.
 */
export const limiterPrefix = (prefix: string) => `${prefix}:rl`
export const phoneSubject = (phone: string) => `sms:${phone}`
