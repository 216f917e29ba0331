/**
 * The example of docs/modules.md: a whole feature in one folder. The app gets it with one line (here the test
 * passes it as `features: [createGreetingsFeature]`; in src/ it is one line in app.ts's feature list).
 */
import type { Feature, FeatureContext } from '../../../src/feature.ts'
import { loadGreetingsConfig } from './config.ts'
import * as m0100 from './migrations/0100_greetings.ts'
import { greetingsRoutes } from './routes.ts'

export interface GreetingsFeature extends Feature {
  /** What ran, in order (the test reads it to see the lifecycle). */
  events: string[]
}

export function createGreetingsFeature(ctx: FeatureContext): GreetingsFeature {
  const config = loadGreetingsConfig(process.env)
  const events: string[] = []
  return {
    name: 'greetings',
    events,
    migrations: { '0100_greetings': m0100 },
    routes: (http) => {
      http.register(greetingsRoutes, {
        redis: ctx.redis,
        key: `${ctx.prefix}:greetings:count`,
        maxNameLength: config.maxNameLength,
      })
    },
    prepare: async () => {
      events.push('prepare')
    },
    start: () => {
      events.push('start')
    },
    stop: async () => {
      events.push('stop')
    },
  }
}
