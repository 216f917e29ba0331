import type { BannersFeature } from '../../src/banners/index.ts'
import type { TestApp } from '../support/app.ts'

/** The banners feature of a test app (its service, and its cache and L1). */
export function bannersOf(app: TestApp): BannersFeature {
  const feature = app.features.find((f) => f.name === 'banners')
  if (!feature) throw new Error('the banners feature is not registered')
  return feature as BannersFeature
}

export const list = (app: TestApp) => app.http.inject({ method: 'GET', url: '/api/banners' })

/** SQL statements that read or wrote the banners table. */
export const bannerQueries = (app: TestApp) => app.queries.filter((sql) => /"banners"/.test(sql))

export async function createBanner(app: TestApp, payload: Record<string, unknown>) {
  const res = await app.http.inject({ method: 'POST', url: '/api/banners', headers: app.auth, payload })
  if (res.statusCode !== 201) throw new Error(`create failed: ${res.statusCode} ${res.body}`)
  return res.json() as { id: number; title: string }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
