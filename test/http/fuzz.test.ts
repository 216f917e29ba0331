/**
 * 10 000 seeded requests, half against SQLite and half against PostgreSQL (all of them on PostgreSQL in the
 * cluster profile): every documented route, with path parameters, queries, bodies, content types and methods
 * drawn from values that have broken things before (NUL, bad %-escapes, huge numbers, deep nesting, …). Nothing
 * may answer 5xx, and every error must be in the contract's shape `{"error":{"code","message"}}`.
 * FUZZ_SEED and FUZZ_REQUESTS replay or widen a run.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type DbKind, dbKinds, startTestApp, type TestApp } from '../support/app.ts'

const SEED = Number(process.env.FUZZ_SEED ?? 15)
const TOTAL = Number(process.env.FUZZ_REQUESTS ?? 10_000)
/** SSE holds the request open; the docs are HTML. Neither is part of the JSON contract. */
const SKIPPED = /^\/api\/events$|^\/docs/

/** mulberry32: small, seeded, good enough to pick among cases; a failure prints what to replay. */
function prng(seed: number) {
  let a = seed >>> 0
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  const int = (n: number) => Math.floor(next() * n)
  const pick = <T>(list: readonly T[]): T => list[int(list.length)] as T
  return { next, int, pick, chance: (p: number) => next() < p }
}
type Rng = ReturnType<typeof prng>

const PATH_VALUES = [
  '1',
  '2',
  '0',
  '-1',
  '007',
  '1.5',
  '1e3',
  '99999999999999999999999',
  '9007199254740993',
  'abc',
  'null',
  '%00',
  '%zz',
  '%',
  '%2F',
  '..%2F..%2Fetc%2Fpasswd',
  '%E2%82%AC',
  '%F0%9F%98%80',
  '%C3%28',
  '%20',
  'a%0Ab',
  'x'.repeat(3000),
  '<script>',
  "'%20OR%201=1--",
  '13812345678',
  '+8613812345678',
  '{}',
  '[]',
] as const

const STRINGS = [
  '',
  ' ',
  'a',
  'hello',
  '13812345678',
  '+8613812345678',
  '+14155550123',
  '123456',
  'x'.repeat(5000),
  '\u0000',
  'a\u0000b',
  '\u0007bell',
  'tab\tand\nlines',
  '€[]{}^~\\|',
  '😀'.repeat(200),
  '\uD800',
  'é',
  '<img src=x onerror=alert(1)>',
  "' OR 1=1 --",
  '../../etc/passwd',
  'article',
  'video',
  'hotspot.ping',
  'hotspot.add',
  'celery',
  'day',
  'week',
  'all',
  'true',
  '2026-01-01T00:00:00Z',
  'not-a-date',
] as const

const NUMBERS = [0, 1, 2, -1, 1.5, 1e308, -1e308, 2 ** 53 + 1, 10, 1000, 86_400, 1e21] as const

function randomValue(rng: Rng, depth = 0): unknown {
  switch (rng.int(depth > 3 ? 4 : 7)) {
    case 0:
      return rng.pick(STRINGS)
    case 1:
      return rng.pick(NUMBERS)
    case 2:
      return rng.pick([true, false, null])
    case 3:
      return rng.pick(STRINGS)
    case 4:
      return Array.from({ length: rng.int(4) }, () => randomValue(rng, depth + 1))
    case 5:
      return Object.fromEntries(
        Array.from({ length: rng.int(4) }, () => [rng.pick(STRINGS), randomValue(rng, depth + 1)]),
      )
    default: {
      // Deep nesting: parsers and validators must not fall over.
      let deep: unknown = 1
      for (let i = 0; i < 200; i++) deep = [deep]
      return deep
    }
  }
}

interface Route {
  method: string
  path: string
  query: string[]
  body: string[]
}

/** Every documented route with the names of its query and body fields, from the app's own OpenAPI document. */
function routesOf(app: TestApp): Route[] {
  type Op = {
    parameters?: { in: string; name: string }[]
    requestBody?: { content?: Record<string, { schema?: { properties?: Record<string, unknown> } }> }
  }
  const doc = app.http.swagger() as { paths: Record<string, Record<string, Op>> }
  const routes: Route[] = []
  for (const [path, ops] of Object.entries(doc.paths)) {
    if (SKIPPED.test(path)) continue
    for (const [method, op] of Object.entries(ops)) {
      const content = Object.values(op.requestBody?.content ?? {})[0]
      routes.push({
        method: method.toUpperCase(),
        path,
        query: (op.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name),
        body: Object.keys(content?.schema?.properties ?? {}),
      })
    }
  }
  return routes
}

interface Case {
  method: string
  url: string
  headers: Record<string, string>
  payload?: string
}

function makeCase(rng: Rng, routes: Route[], auth: string): Case {
  const route = rng.pick(routes)
  const method = rng.chance(0.85)
    ? route.method
    : rng.pick(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'])
  let path = route.path.replace(/\{[^}]+\}/g, () =>
    rng.chance(0.4) ? String(1 + rng.int(3)) : rng.pick(PATH_VALUES),
  )
  if (rng.chance(0.03)) path += rng.pick(['/', '//', '/extra', '%', '?', '#frag'])
  const params = new URLSearchParams()
  for (const name of route.query) if (rng.chance(0.6)) params.append(name, String(randomValue(rng, 4)))
  if (rng.chance(0.2)) params.append(rng.pick(STRINGS), String(rng.pick(STRINGS)))
  let url = params.size > 0 ? `${path}?${params}` : path
  if (rng.chance(0.05)) url += rng.pick(['&limit=%00', '&cursor=%zz', '&limit=1&limit=2', '&a[b]=c'])
  const headers: Record<string, string> = {}
  if (rng.chance(0.5)) headers.authorization = auth
  else if (rng.chance(0.1))
    headers.authorization = rng.pick(['Bearer ', 'Bearer wrong', 'Basic x', 'garbage'])
  if (rng.chance(0.1)) headers.accept = rng.pick(['text/html', '*/*', 'application/xml'])
  if (rng.chance(0.05)) headers.cookie = `hs_vid=${rng.pick(STRINGS)}`
  let payload: string | undefined
  if (method !== 'GET' && method !== 'HEAD' && rng.chance(0.9)) {
    headers['content-type'] = rng.chance(0.9)
      ? 'application/json'
      : rng.pick([
          'text/plain',
          'application/x-www-form-urlencoded',
          'application/xml',
          'multipart/form-data',
          '',
        ])
    const shape = rng.int(10)
    if (shape === 0) payload = rng.pick(['{', '{"a":', 'nul', '[1,]', '', '{"a":1}}', '\u0000', '"x"'])
    else if (shape === 1) payload = JSON.stringify(randomValue(rng))
    else if (shape === 2) payload = JSON.stringify({ data: 'x'.repeat(70 * 1024) })
    else {
      const body: Record<string, unknown> = {}
      for (const name of route.body) if (rng.chance(0.8)) body[name] = randomValue(rng, 2)
      if (rng.chance(0.2)) body[rng.pick(STRINGS)] = randomValue(rng, 3)
      payload = JSON.stringify(body)
    }
  }
  return { method, url, headers, payload }
}

/** What is wrong with an answer, or undefined when it keeps the contract. */
function breach(
  status: number,
  method: string,
  contentType: string | undefined,
  body: string,
): string | undefined {
  if (status >= 500) return `status ${status}`
  if (status < 400 || method === 'HEAD') return undefined
  if (!/^application\/json/.test(contentType ?? '')) return `error answered as ${contentType}`
  let parsed: { error?: { code?: unknown; message?: unknown } }
  try {
    parsed = JSON.parse(body)
  } catch {
    return 'error body is not JSON'
  }
  const error = parsed.error
  if (typeof error?.code !== 'string' || !/^[a-z][a-z0-9_]*$/.test(error.code)) return 'error.code missing'
  if (typeof error.message !== 'string' || error.message === '') return 'error.message missing'
  return undefined
}

const perDb = Math.ceil(TOTAL / dbKinds.length)

describe.each(dbKinds)('fuzz: %s', (db: DbKind) => {
  let app: TestApp
  beforeAll(async () => {
    // Limits high enough that the budgets answer 429 sometimes, not for every SMS after the first few.
    app = await startTestApp({ db, env: { SMS_ADDRESS_LIMIT: '0', SMS_GLOBAL_LIMIT: '0' } })
    await app.http.ready()
    for (const kind of ['article', 'video'] as const)
      await app.http.inject({
        method: 'POST',
        url: '/api/items',
        headers: app.auth,
        payload: { kind, title: kind },
      })
  })
  afterAll(async () => {
    await app?.close()
  })

  it(`${perDb} seeded requests: no 5xx, every error in the contract's shape`, async () => {
    const rng = prng(SEED + (db === 'postgres' ? 1 : 0))
    const routes = routesOf(app)
    expect(routes.length).toBeGreaterThan(20)
    const breaches: string[] = []
    const statuses = new Map<number, number>()
    const batch = 20
    for (let done = 0; done < perDb; done += batch) {
      const cases = Array.from({ length: Math.min(batch, perDb - done) }, () =>
        makeCase(rng, routes, app.auth.authorization),
      )
      const answers = await Promise.all(
        cases.map((c) =>
          app.http.inject({ method: c.method as 'GET', url: c.url, headers: c.headers, payload: c.payload }),
        ),
      )
      answers.forEach((res, i) => {
        statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1)
        const c = cases[i] as Case
        const wrong = breach(
          res.statusCode,
          c.method,
          res.headers['content-type'] as string | undefined,
          res.body,
        )
        if (wrong && breaches.length < 20)
          breaches.push(
            `${wrong}: ${c.method} ${c.url.slice(0, 200)} ${c.payload?.slice(0, 200) ?? ''} → ${res.body.slice(0, 300)}`,
          )
      })
    }
    console.log(`fuzz ${db}: ${perDb} requests, statuses ${JSON.stringify(Object.fromEntries(statuses))}`)
    expect(breaches).toEqual([])
  }, 600_000)
})
