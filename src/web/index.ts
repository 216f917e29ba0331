import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Feature, FeatureContext } from '../feature.ts'
import { createEventStream } from './events-route.ts'
import { staticRoutes } from './static.ts'

/** The UI `npm run build` writes (web/dist at the package root: two levels up from src/web/ and dist/web/). */
export const DIST_DIR = fileURLToPath(new URL('../../web/dist/', import.meta.url))

/**
 * The web UI: the built Vue app at `/` and the live-counts event stream. The UI itself talks to the public HTTP
 * API only. This process never builds it (`npm run build` does).
 */
export function createWebFeature(ctx: FeatureContext) {
  const stream = createEventStream({
    events: ctx.events,
    prefix: ctx.prefix,
    limits: ctx.config.sse,
    log: ctx.log,
    metrics: ctx.metrics,
  })
  const feature: Feature = {
    name: 'web',
    routes: (http) => {
      stream.routes(http)
      staticRoutes(http, { root: DIST_DIR })
    },
    start: () => {
      if (!fs.existsSync(path.join(DIST_DIR, 'index.html')))
        ctx.log.warn(
          { dir: DIST_DIR },
          'the web UI is not built (%s has no index.html): run `npm run build`; / answers 503 until then',
          DIST_DIR,
        )
    },
    stop: async () => stream.close(),
  }
  return { feature }
}
