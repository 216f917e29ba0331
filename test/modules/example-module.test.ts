/**
 * docs/modules.md's walkthrough is true: a feature in one folder (test/modules/greetings/) joins the app with
 * one line, gets its routes, its error codes, and its place in the lifecycle.
 */
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { FeatureContext } from '../../src/feature.ts'
import { startTestApp, type TestApp } from '../support/app.ts'
import { createGreetingsFeature, type GreetingsFeature } from './greetings/index.ts'

describe('a feature module added from its own folder', () => {
  let app: TestApp
  let greetings: GreetingsFeature
  beforeAll(async () => {
    app = await startTestApp({
      features: [
        (ctx: FeatureContext) => {
          greetings = createGreetingsFeature(ctx)
          return greetings
        },
      ],
    })
  })
  afterAll(() => app.close())

  it('is in the feature list and was prepared', () => {
    expect(app.features.map((f) => f.name)).toContain('greetings')
    expect(greetings.events).toEqual(['prepare'])
  })

  it('its own migration ran with the built-in ones: its table is there', async () => {
    const { rows } = await sql<{ n: number }>`select count(*) as n from greetings`.execute(app.db)
    expect(Number(rows[0]?.n)).toBe(0)
  })

  it('its routes are an encapsulated plugin and answer, with its own error code', async () => {
    await app.http.ready()
    expect(app.http.printPlugins()).toContain('greetingsRoutes')
    const first = await app.http.inject({ method: 'GET', url: '/api/greetings/ada' })
    expect(first.statusCode).toBe(200)
    expect(first.json()).toEqual({ greeting: 'hello, ada', count: 1 })
    expect((await app.http.inject({ method: 'GET', url: '/api/greetings/ada' })).json().count).toBe(2)
    const long = await app.http.inject({ method: 'GET', url: `/api/greetings/${'x'.repeat(21)}` })
    expect(long.statusCode).toBe(422)
    expect(long.json().error.code).toBe('name_too_long')
  })

  it('starts with the api role (once) and stops when the app closes', async () => {
    await app.start(['api'])
    await app.start(['api'])
    expect(greetings.events).toEqual(['prepare', 'start'])
    await app.close()
    expect(greetings.events).toEqual(['prepare', 'start', 'stop'])
  })
})
