import type { ServerResponse } from 'node:http'
import helmet, { contentSecurityPolicy } from 'helmet'
import type { Http } from './http.ts'

type Directives = Record<string, string[] | null>

/**
 * What the UI needs and nothing more: its own scripts, styles, fetches and event stream; images also from any
 * http(s) URL, as a banner's image may live elsewhere. No plugins, no framing, no `<base>` games.
 */
const DIRECTIVES: Directives = {
  defaultSrc: ["'self'"],
  baseUri: ["'self'"],
  connectSrc: ["'self'"],
  fontSrc: ["'self'", 'data:'],
  formAction: ["'self'"],
  frameAncestors: ["'none'"],
  imgSrc: ["'self'", 'data:', 'https:', 'http:'],
  manifestSrc: ["'self'"],
  objectSrc: ["'none'"],
  scriptSrc: ["'self'"],
  scriptSrcAttr: ["'none'"],
  styleSrc: ["'self'"],
}

const helmetOptions = (directives: Directives) => ({
  contentSecurityPolicy: { useDefaults: false, directives },
  // Plain HTTP here: HSTS (for a year, subdomains included) is for the TLS terminator in front to decide.
  strictTransportSecurity: false,
  xFrameOptions: { action: 'deny' as const },
  referrerPolicy: { policy: 'no-referrer' as const },
})

/**
 * Security headers on every answer (CSP, nosniff, no framing, no referrer, …) with helmet, built once.
 * Hand-wired rather than @fastify/helmet: that plugin rebuilds the helmet middleware on every request
 * (measured 23 µs a request against 0.7 µs for one built once), a toll on every view counted.
 */
export function securityHeaders(app: Http): void {
  const apply = helmet(helmetOptions(DIRECTIVES))
  app.addHook('onRequest', (request, reply, done) =>
    apply(request.raw, reply.raw, (error) => done(error as Error | undefined)),
  )
}

const policies = new Map<string, string>()

/**
 * The Content-Security-Policy header with some directives replaced, formatted by helmet and cached: the UI's
 * index.html adds the `'sha256-…'` of its inline script (its first data loads while the app's code downloads).
 */
export function contentSecurityPolicyWith(overrides: Directives): string {
  const key = JSON.stringify(overrides)
  let policy = policies.get(key)
  if (policy === undefined) {
    let header = ''
    const capture = {
      setHeader: (_name: string, value: string) => {
        header = value
      },
    } as unknown as ServerResponse
    contentSecurityPolicy({ useDefaults: false, directives: { ...DIRECTIVES, ...overrides } })(
      {} as Parameters<ReturnType<typeof contentSecurityPolicy>>[0],
      capture,
      () => {},
    )
    policy = header
    if (policies.size > 16) policies.clear() // a rebuilt UI replaces its hashes: keep only recent ones
    policies.set(key, policy)
  }
  return policy
}

/** The policy of a page that also runs the inline scripts of these `'sha256-…'` sources. */
export const pageContentSecurityPolicy = (scriptSources: string[]): string =>
  contentSecurityPolicyWith({ scriptSrc: ["'self'", ...scriptSources] })

/** Swagger UI at /docs inserts `<style>` elements of its own: inline styles there (never scripts). */
export const docsContentSecurityPolicy = (): string =>
  contentSecurityPolicyWith({ styleSrc: ["'self'", "'unsafe-inline'"] })
