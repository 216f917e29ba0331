/**
 * Redis keys of verification codes, all under the phone's tag `{vc:<phone>}` (one Cluster slot per phone).
 * The send log (cooldown, hourly, daily) is a limiter log of src/ratelimit under the same tag.
 */
export const codeKey = (prefix: string, phone: string) => `${prefix}:{vc:${phone}}:code`
export const limiterPrefix = (prefix: string) => `${prefix}:rl`
export const sendSubject = (phone: string) => `vc:${phone}`
