/**
 * Banners as a module: it owns its config slice (validated with the rest at start) and registers its routes as
 * an encapsulated Fastify plugin of its own.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadBannersConfig } from '../../src/banners/config.ts'
import { ConfigError, loadConfig } from '../../src/config.ts'
import { startTestApp, type TestApp } from '../support/app.ts'

describe('the banners module', () => {
  let app: TestApp
  beforeAll(async () => {
    app = await startTestApp()
  })
  afterAll(() => app.close())

  it('reads its own BANNERS_* slice: defaults, and a bad value names the variable', () => {
    expect(loadBannersConfig({})).toEqual({
      refreshSeconds: 300,
      cacheTtlMs: 600_000,
      cacheGraceMs: 3_600_000,
    })
    expect(loadConfig({ BANNERS_REFRESH_SECONDS: '60' }).banners.refreshSeconds).toBe(60)
    expect(() => loadConfig({ BANNERS_CACHE_TTL_MS: '10' })).toThrow(ConfigError)
    expect(() => loadConfig({ BANNERS_CACHE_TTL_MS: '10' })).toThrow(/^BANNERS_CACHE_TTL_MS: /)
  })

  it('its routes are a plugin of their own, and they answer', async () => {
    await app.http.ready()
    expect(app.http.printPlugins()).toContain('bannersRoutes')
    expect((await app.http.inject({ method: 'GET', url: '/api/banners' })).statusCode).toBe(200)
  })
})
