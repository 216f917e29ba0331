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
  /**
   * Sends the whole text as one message (the gateway splits it) and records it as part 0: it cannot finish a
   * message another gateway began in parts, and its part 0 stands for every part.
   */
  wholeText?: boolean
  send(sms: OutgoingSms): Promise<void>
}

/** The gateways that take a whole text as one message, by the name they record parts under. */
export const WHOLE_TEXT_GATEWAYS: ReadonlySet<string> = new Set(['ihuyi', 'aliyun', 'twilio'])

/**
 * Parts (0-based) of an SMS of `count` parts that gateways already took: all of them once a whole-text gateway
 * took it (it records part 0 for the whole text), else the parts recorded.
 */
export function partsAlreadySent(recorded: { part: number; gateway: string }[], count: number): Set<number> {
  if (recorded.some((p) => WHOLE_TEXT_GATEWAYS.has(p.gateway)))
    return new Set(Array.from({ length: count }, (_, i) => i))
  return new Set(recorded.map((p) => p.part))
}
