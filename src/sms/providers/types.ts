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
}

/**
 * An SMS gateway. `send` delivers every part or throws (the delivery is retried with backoff). It must be
 * idempotent per (smsId, part index): a call repeated after a crash never delivers a part twice. Real
 * gateways take an idempotency key or client reference for this; the outbox uses a unique constraint.
 */
export interface SmsProvider {
  name: string
  send(sms: OutgoingSms): Promise<void>
}
