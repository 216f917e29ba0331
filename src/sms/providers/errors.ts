/**
 * What a gateway's refusal means for the message: `retry` (later, maybe elsewhere: timeout, 5xx, malformed
 * answer), `throttled` (the gateway asks us to slow down: retry later, and a fail-over moves on), `final` (this
 * message can never go through this gateway: wrong number, blocked content, no balance, bad credentials).
 * Messages name the gateway's code, never the phone, the text or a credential.
 */
export type GatewayErrorKind = 'retry' | 'throttled' | 'final'

export class GatewayError extends Error {
  override name = 'GatewayError'
  /**
   * A `final` refusal about this gateway's own account — credentials, balance, allowed IP, sender, signature or
   * template — not about the message: the message fails if this is the only gateway, but a fail-over list moves
   * on to the next one (which has an account of its own).
   */
  readonly account: boolean
  constructor(
    readonly gateway: string,
    readonly kind: GatewayErrorKind,
    message: string,
    readonly code?: string,
    options: { account?: boolean } = {},
  ) {
    super(`${gateway}: ${message}`)
    this.account = kind === 'final' && options.account === true
  }
}

export const isFinal = (error: unknown) => error instanceof GatewayError && error.kind === 'final'
/** Final for the message itself (wrong number, blocked content): no other gateway will do better. */
export const isFinalForMessage = (error: unknown) => isFinal(error) && !(error as GatewayError).account

/** fetch with a deadline: every call to a gateway has one. A timeout or a network error is `retry`. */
export async function gatewayFetch(gateway: string, url: string, init: RequestInit, timeoutMs: number) {
  try {
    return await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) })
  } catch (error) {
    const reason =
      (error as Error).name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : 'unreachable'
    throw new GatewayError(gateway, 'retry', reason)
  }
}

/** The body as JSON, or a `retry` error naming what came instead (an HTML error page, an empty body). */
export async function gatewayJson(gateway: string, res: Response): Promise<unknown> {
  const text = await res.text()
  if (res.status >= 500) throw new GatewayError(gateway, 'retry', `HTTP ${res.status}`)
  if (text.trim() === '') throw new GatewayError(gateway, 'retry', `empty answer (HTTP ${res.status})`)
  try {
    return JSON.parse(text)
  } catch {
    // Never quote the body: it may echo what was sent.
    throw new GatewayError(
      gateway,
      'retry',
      `answer is not JSON (HTTP ${res.status}, ${res.headers.get('content-type') ?? 'no type'})`,
    )
  }
}
