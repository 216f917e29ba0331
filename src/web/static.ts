import { createHash } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import fastifyStatic from '@fastify/static'
import type { FastifyReply } from 'fastify'
import type { Http } from '../infra/http.ts'
import { pageContentSecurityPolicy } from '../infra/security-headers.ts'

/** Paths that belong to the API and operations: never answered with the UI, even when unknown (JSON 404). */
const SERVER_PATHS = /^\/(api|docs|metrics|healthz|readyz|openapi\.json)(\/|$)/

/** Vite's hashed output: its name changes with its content, so a browser may keep it forever. */
const HASHED_ASSET = /^\/assets\//
const IMMUTABLE = 'public, max-age=31536000, immutable'
/** index.html names the current hashed assets: always revalidate (ETag makes that a 304). */
const REVALIDATE = 'no-cache'
/** Other files of web/public (banner images, icons): not hashed, so a short cache. */
const SHORT = 'public, max-age=3600'

const NOT_BUILT_PAGE = `<!doctype html><meta charset="utf-8"><title>hotspot</title>
<p>The web UI is not built. Run <code>npm run build</code> (in a checkout, <code>npm start</code> builds it
too), then reload. The API is up: see <a href="/docs">/docs</a>.</p>`

/**
 * Serves the built UI at `/` with @fastify/static: files by path, and index.html for every other GET that is not
 * an API/ops path, so client-side routes (/sms, /flash-sale, …) survive a reload. Pre-compressed .br/.gz files
 * written by the build are sent to browsers that accept them.
 */
const acceptsHtml = (accept: string | undefined) => accept !== undefined && /\btext\/html\b/i.test(accept)

const INLINE_SCRIPT = /<script(?![^>]*\ssrc=)[^>]*>([\s\S]*?)<\/script>/gi
let hashed: { file: string; mtimeMs: number; sources: string[] } | undefined

/** `'sha256-…'` of each inline script of index.html, for the page's CSP; read again when the UI is rebuilt. */
function inlineScriptSources(file: string): string[] {
  const { mtimeMs } = fs.statSync(file)
  if (hashed?.file !== file || hashed.mtimeMs !== mtimeMs) {
    const html = fs.readFileSync(file, 'utf8')
    const sources = [...html.matchAll(INLINE_SCRIPT)].map(
      (match) =>
        `'sha256-${createHash('sha256')
          .update(match[1] ?? '')
          .digest('base64')}'`,
    )
    hashed = { file, mtimeMs, sources }
  }
  return hashed.sources
}

export function staticRoutes(app: Http, options: { root: string }) {
  const { root } = options

  app.register(fastifyStatic, {
    root,
    serve: false, // one wildcard route below decides between a file and the SPA fallback
    preCompressed: true,
    cacheControl: false,
    index: false,
  })

  const send = (reply: FastifyReply, file: string, cacheControl: string) => {
    reply.header('cache-control', cacheControl)
    return reply.sendFile(file)
  }

  app.get('/*', { schema: { hide: true } }, async (request, reply) => {
    let pathname: string
    try {
      pathname = decodeURIComponent(request.url.split('?')[0] ?? '/')
    } catch {
      return reply.callNotFound() // malformed %-escape: no such file, no such page
    }
    if (SERVER_PATHS.test(pathname)) return reply.callNotFound()
    const last = pathname.slice(pathname.lastIndexOf('/') + 1)
    const namesFile = last.includes('.') && last !== 'index.html'
    // A page only for a browser asking for one: a script or curl probing an unknown path gets the JSON 404.
    if (!namesFile && !acceptsHtml(request.headers.accept)) return reply.callNotFound()
    if (!fs.existsSync(path.join(root, 'index.html'))) {
      return reply.status(503).header('cache-control', 'no-store').type('text/html').send(NOT_BUILT_PAGE)
    }
    // A path that names a file is that file or a 404; anything else is a client-side route.
    if (namesFile) return send(reply, pathname, HASHED_ASSET.test(pathname) ? IMMUTABLE : SHORT)
    const scripts = inlineScriptSources(path.join(root, 'index.html'))
    reply.header('content-security-policy', pageContentSecurityPolicy(scripts))
    return send(reply, 'index.html', REVALIDATE)
  })
}
