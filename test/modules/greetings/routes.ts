import type { Http } from '../../../src/infra/http.ts'
import type { RedisClient } from '../../../src/infra/redis.ts'
import { greetingErrors } from './errors.ts'

/** The small interfaces the routes need, not the whole FeatureContext. */
export interface GreetingsRoutesDeps {
  redis: Pick<RedisClient, 'incr'>
  key: string
  maxNameLength: number
}

/** An encapsulated Fastify plugin: what it registers stays inside it. */
export async function greetingsRoutes(app: Http, deps: GreetingsRoutesDeps) {
  app.get<{ Params: { name: string } }>('/api/greetings/:name', async (request) => {
    const { name } = request.params
    if (name.length > deps.maxNameLength)
      throw greetingErrors.error('name_too_long', `a name is at most ${deps.maxNameLength} characters`)
    return { greeting: `hello, ${name}`, count: await deps.redis.incr(deps.key) }
  })
}
