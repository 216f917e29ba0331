import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { dbKinds, startTestApp, type TestApp } from '../support/app.ts'

const contractShape = { error: { code: expect.any(String), message: expect.any(String) } }

describe.each(dbKinds)('framework errors, control characters and unknown paths (%s)', (db) => {
  let app: TestApp
  beforeAll(async () => {
    app = await startTestApp({ db })
  })
  afterAll(() => app.close())

  it('answers a malformed URL and other framework errors in the contract shape', async () => {
    const badUrl = await app.http.inject({
      method: 'POST',
      url: '/api/seckill/%zz',
      payload: { userId: 'u' },
    })
    expect(badUrl.statusCode).toBe(400)
    expect(badUrl.json()).toEqual({ error: { code: 'bad_url', message: expect.any(String) } })
    const media = await app.http.inject({
      method: 'POST',
      url: '/api/sms',
      headers: { 'content-type': 'application/xml' },
      payload: '<sms/>',
    })
    expect(media.statusCode).toBe(415)
    expect(media.json()).toEqual({ error: { code: 'unsupported_media_type', message: expect.any(String) } })
    const badJson = await app.http.inject({
      method: 'POST',
      url: '/api/sms',
      headers: { 'content-type': 'application/json' },
      payload: '{"phone": "secret-fragment',
    })
    expect(badJson.json()).toEqual({ error: { code: 'invalid_json', message: expect.any(String) } })
    expect(badJson.body).not.toContain('secret-fragment')
    const big = await app.http.inject({
      method: 'POST',
      url: '/api/sms',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ content: 'x'.repeat(70_000) }),
    })
    expect(big.statusCode).toBe(413)
    expect(big.json()).toMatchObject(contractShape)
  })

  it('refuses NUL and other control characters in path params, queries and bodies with 400', async () => {
    const cases = [
      { method: 'HEAD' as const, url: '/api/sms/%00' },
      { method: 'GET' as const, url: '/api/sms/%00' },
      { method: 'GET' as const, url: '/api/sms/a%1Bb' },
      { method: 'GET' as const, url: '/api/products?cursor=%00' },
      { method: 'POST' as const, url: '/api/seckill/1', payload: { userId: 'a\u0000b' } },
      { method: 'POST' as const, url: '/api/sms', payload: { phone: '13800138000', content: 'hi\u0000' } },
      { method: 'POST' as const, url: '/api/verification-codes', payload: { phone: '1380013\u00078000' } },
    ]
    for (const c of cases) {
      const res = await app.http.inject(c)
      expect(res.statusCode, `${c.method} ${c.url}`).toBe(400)
      if (c.method !== 'HEAD') expect(res.json().error.code, c.url).toBe('validation_failed')
    }
    // Line breaks and tabs stay allowed in body text.
    const sms = await app.http.inject({
      method: 'POST',
      url: '/api/sms',
      payload: { phone: '13800138001', content: 'line one\nline\ttwo' },
    })
    expect(sms.statusCode).toBe(202)
  })

  it('serves UI pages only to a GET asking for HTML; everything else unknown is the JSON 404', async () => {
    for (const request of [
      { method: 'GET' as const, url: '/definitely/not/here' },
      { method: 'GET' as const, url: '/definitely/not/here', headers: { accept: 'application/json' } },
      { method: 'POST' as const, url: '/definitely/not/here', headers: { accept: 'text/html' } },
      { method: 'GET' as const, url: '/api/nothing', headers: { accept: 'text/html' } },
    ]) {
      const res = await app.http.inject(request)
      expect(res.statusCode, `${request.method} ${request.url}`).toBe(404)
      expect(res.json().error.code).toBe('not_found')
    }
    const page = await app.http.inject({
      method: 'GET',
      url: '/flash-sale',
      headers: { accept: 'text/html' },
    })
    expect(page.headers['content-type']).toMatch(/^text\/html/)
  })
})
