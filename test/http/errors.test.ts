import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestApp, type TestApp } from '../support/app.ts'

describe('HTTP error contract', () => {
  let app: TestApp
  beforeAll(async () => {
    app = await startTestApp()
  })
  afterAll(() => app.close())

  const json = { 'content-type': 'application/json' }

  it('answers unknown routes with 404 not_found', async () => {
    const res = await app.http.inject({ method: 'GET', url: '/api/nothing-here' })
    expect(res.statusCode).toBe(404)
    expect(res.json().error.code).toBe('not_found')
  })

  it('answers malformed JSON with 400 invalid_json and creates nothing', async () => {
    const res = await app.http.inject({
      method: 'POST',
      url: '/api/items',
      headers: { ...json, ...app.auth },
      payload: '{"kind": "article", "title": ',
    })
    expect(res.statusCode).toBe(400)
    expect(res.json().error.code).toBe('invalid_json')
    const list = await app.http.inject({ method: 'GET', url: '/api/items' })
    expect(list.json().items).toHaveLength(0)
  })

  it('names the offending field in validation_failed', async () => {
    const missing = await app.http.inject({
      method: 'POST',
      url: '/api/items',
      headers: app.auth,
      payload: { kind: 'article' },
    })
    expect(missing.statusCode).toBe(400)
    expect(missing.json().error).toMatchObject({ code: 'validation_failed', field: 'body.title' })
    const wrong = await app.http.inject({
      method: 'POST',
      url: '/api/items',
      headers: app.auth,
      payload: { kind: 'podcast', title: 'x' },
    })
    expect(wrong.json().error).toMatchObject({ code: 'validation_failed', field: 'body.kind' })
    const query = await app.http.inject({ method: 'GET', url: '/api/rankings/views?period=year' })
    expect(query.json().error).toMatchObject({ code: 'validation_failed', field: 'querystring.period' })
    const param = await app.http.inject({ method: 'GET', url: '/api/items/abc' })
    expect(param.json().error).toMatchObject({ code: 'validation_failed', field: 'params.id' })
  })

  it('refuses bodies over 64 KiB with 413', async () => {
    const res = await app.http.inject({
      method: 'POST',
      url: '/api/items',
      headers: { ...json, ...app.auth },
      payload: JSON.stringify({ kind: 'article', title: 'big', body: 'x'.repeat(70 * 1024) }),
    })
    expect(res.statusCode).toBe(413)
    expect(res.json().error.code).toBe('payload_too_large')
  })

  it('answers admin routes without or with a wrong token with 401 unauthorized, before validating', async () => {
    const none = await app.http.inject({
      method: 'POST',
      url: '/api/items',
      payload: { kind: 'article', title: 't' },
    })
    expect(none.statusCode).toBe(401)
    expect(none.json().error.code).toBe('unauthorized')
    const wrong = await app.http.inject({
      method: 'POST',
      url: '/api/items',
      headers: { authorization: 'Bearer nope-nope-nope-nope' },
      payload: { bogus: true },
    })
    expect(wrong.statusCode).toBe(401)
  })

  it('times every answer by method, route pattern and status; unknown routes as unmatched', async () => {
    await app.http.inject({ method: 'GET', url: '/api/items' })
    await app.http.inject({ method: 'POST', url: '/api/items/987654/views', payload: {} })
    await app.http.inject({ method: 'GET', url: '/api/no-such-route-here' })
    const body = (await app.http.inject({ method: 'GET', url: '/metrics' })).body
    const count = (labels: string) =>
      Number(
        new RegExp(`hotspot_http_request_duration_seconds_count\\{${labels}\\} (\\d+)`).exec(body)?.[1] ?? 0,
      )
    expect(count('method="GET",route="/api/items",status="200"')).toBeGreaterThanOrEqual(1)
    expect(count('method="POST",route="/api/items/:id/views",status="404"')).toBe(1)
    expect(count('method="GET",route="unmatched",status="404"')).toBeGreaterThanOrEqual(1)
  })

  it('sets the visitor cookie from the views route only', async () => {
    const items = await app.http.inject({
      method: 'GET',
      url: '/api/items',
      headers: { cookie: 'hs_vid=abc' },
    })
    expect(items.statusCode).toBe(200)
    expect(items.headers['set-cookie']).toBeUndefined()
    const created = await app.http.inject({
      method: 'POST',
      url: '/api/items',
      headers: app.auth,
      payload: { kind: 'article', title: 'cookie scope' },
    })
    const view = await app.http.inject({ method: 'POST', url: `/api/items/${created.json().id}/views` })
    expect(view.statusCode).toBe(200)
    expect(String(view.headers['set-cookie'])).toMatch(/^hs_vid=/)
  })

  it('serves health, readiness, metrics and the OpenAPI document', async () => {
    expect((await app.http.inject({ method: 'GET', url: '/healthz' })).json()).toEqual({ status: 'ok' })
    const ready = await app.http.inject({ method: 'GET', url: '/readyz' })
    expect(ready.statusCode).toBe(200)
    expect(ready.json()).toEqual({ status: 'ready', checks: { redis: 'ok', amqp: 'ok', db: 'ok' } })
    await app.http.inject({ method: 'GET', url: '/healthz' })
    const metrics = await app.http.inject({ method: 'GET', url: '/metrics' })
    expect(metrics.body).toContain('hotspot_http_request_duration_seconds_bucket')
    const doc = (await app.http.inject({ method: 'GET', url: '/openapi.json' })).json()
    expect(doc.openapi).toMatch(/^3\./)
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/api/items', '/api/items/{id}/views']))
    const docs = await app.http.inject({ method: 'GET', url: '/docs' })
    expect(docs.statusCode).toBeLessThan(400)
  })
})
