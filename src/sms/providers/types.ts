/** What a delivery hands to a provider: the parts of one SMS, already segmented. */
export interface OutgoingSms {
  smsId: string
  /** E.164. */
  phone: string
  parts: string[]
  /**
   * Set when the text is secret (a verification code): each part as it may be shown or stored by anything that
   * keeps messages (the code masked). A gateway sends `parts`; it never logs or stores them.
   */
  maskedParts?: string[]
  /** 1 for the first delivery attempt of this SMS, 2 for the first retry, … */
  attempt: number
  /** Parts (0-based) a gateway already took in an earlier attempt, under any gateway: never sent again. */
  sentParts?: ReadonlySet<number>
  /**
   * Called as soon as a gateway acknowledged a part with its message id, before the next part or attempt; the
   * delivery records it in SQL (that is what makes a retry or a fail-over skip it).
   */
  onPartSent?: (part: number, gateway: string, messageId: string) => Promise<void>
}

/**
 * An SMS gateway. `send` delivers every part or throws (a `GatewayError` says whether to retry; anything else
 * is retried with backoff). It must be idempotent per (smsId, part index): a call repeated after a crash never
 * delivers a part twice. Real gateways report each part through `onPartSent`; the outbox uses a unique
 * constraint.
 */
export interface SmsProvider {
  name: string
  send(sms: OutgoingSms): Promise<void>
}
