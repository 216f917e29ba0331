import type { Feature, FeatureContext } from '../feature.ts'
import type { SeckillService } from '../seckill/service.ts'
import { cancelWebBuild, DIST_DIR, ensureWebBuild } from './build.ts'
import { createEventStream } from './events-route.ts'
import { productsRoute } from './products-route.ts'
import { staticRoutes } from './static.ts'

/**
 * The web UI: the built Vue app at `/` (built at start when missing or stale), the live-counts event stream,
 * and the product list the flash-sale page needs. The UI itself talks to the public HTTP API only.
 */
export function createWebFeature(ctx: FeatureContext, deps: { seckill: SeckillService }) {
  const stream = createEventStream(ctx.events, ctx.prefix)
  let build: Promise<unknown> | undefined
  let building = false
  const feature: Feature = {
    name: 'web',
    routes: (http) => {
      stream.routes(http)
      productsRoute(http, deps)
      staticRoutes(http, { root: DIST_DIR, ready: () => build ?? Promise.resolve() })
    },
    // Only processes that serve HTTP (the `api` role) build; a worker never needs the UI.
    start: () => {
      if (build) return
      building = true
      build = ensureWebBuild(ctx.log).finally(() => {
        building = false
      })
    },
    stop: async () => {
      if (building) cancelWebBuild() // ours, still running: the previous build stays served
      stream.close()
    },
  }
  return { feature }
}
