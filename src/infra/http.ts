import cookie from '@fastify/cookie'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import underPressure from '@fastify/under-pressure'
import Fastify, {
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  LogController,
  type onResponseHookHandler,
  type RawReplyDefaultExpression,
  type RawRequestDefaultExpression,
  type RawServerDefault,
} from 'fastify'
import { AppError } from '../errors.ts'
import type { Logger } from './logger.ts'
import type { Metrics } from './metrics.ts'
import { docsContentSecurityPolicy, securityHeaders } from './security-headers.ts'
import { isUnavailableError } from './unavailable.ts'

export type Http = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  Logger,
  TypeBoxTypeProvider
>

interface ErrorBody {
  error: { code: string; message: string; [detail: string]: unknown }
}

function errorBody(code: string, message: string, details?: Record<string, unknown>): ErrorBody {
  return { error: { code, message, ...details } }
}

/** Turns an Ajv validation error into `validation_failed` naming the field ("body.phone"). */
function validationBody(error: FastifyError): ErrorBody {
  const first = error.validation?.[0]
  const context = error.validationContext ?? 'body'
  const missing = (first?.params as { missingProperty?: string } | undefined)?.missingProperty
  const pathPart = first?.instancePath?.replace(/^\//, '').replaceAll('/', '.')
  const field = [context, pathPart || undefined, missing].filter(Boolean).join('.')
  const message = missing ? `${field} is required` : `${field} ${first?.message ?? 'is invalid'}`
  return errorBody('validation_failed', message, { field })
}

/** C0 controls and DEL; body strings may hold tabs and line breaks (SMS text, item bodies). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const CONTROL_IN_PARAM = /[\u0000-\u001f\u007f]/
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const CONTROL_IN_BODY = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/

/** The path ("body.kwargs.x") of the first string holding a control character, walking arrays and objects. */
function controlCharField(value: unknown, field: string, pattern: RegExp): string | undefined {
  const found = controlCharPath(value, pattern, 0)
  return found === undefined ? undefined : field + found
}

/** The path below `value` (".kwargs.x", "" for the value itself); built only once found (a hot-path hook). */
function controlCharPath(value: unknown, pattern: RegExp, depth: number): string | undefined {
  if (typeof value === 'string') return pattern.test(value) ? '' : undefined
  if (typeof value !== 'object' || value === null || depth > 32) return undefined
  const record = value as Record<string, unknown>
  for (const key in record) {
    if (!Object.hasOwn(record, key)) continue
    if (pattern.test(key)) return `.${key}`
    const found = controlCharPath(record[key], pattern, depth + 1)
    if (found !== undefined) return `.${key}${found}`
  }
  return undefined
}

export interface HttpLimits {
  /** A handler not done within this answers 503 (a hung backing server must not hang the request). */
  handlerTimeoutMs: number
  /** Requests in progress at once; past it new ones get 503 at once instead of piling up in memory. */
  maxInFlight: number
}

const defaultHttpLimits: HttpLimits = { handlerTimeoutMs: 9000, maxInFlight: 2000 }

export function createHttp(options: {
  logger: Logger
  bodyLimit: number
  metrics: Metrics
  limits?: HttpLimits
}): Http {
  const limits = options.limits ?? defaultHttpLimits
  const app = Fastify({
    // A client must send its whole request within this (slow-loris), and a socket idle this long is closed
    // (SSE streams send a heartbeat every 15 s).
    requestTimeout: 10_000,
    connectionTimeout: 60_000,
    loggerInstance: options.logger,
    bodyLimit: options.bodyLimit,
    // Per-request logs at 20k req/s drown the useful ones; the metrics cover traffic.
    logController: new LogController({ disableRequestLogging: true }),
    // A pino child logger per request (with our redaction rules) cost ~10 % of throughput on a hot route;
    // handlers log through the app logger instead and put what matters in the log object.
    childLoggerFactory: (logger) => logger,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    trustProxy: false,
    // Fastify answers a malformed URL itself: in the contract's shape instead of its own.
    frameworkErrors: (_error, _request, reply) => {
      ;(reply as FastifyReply)
        .status(400)
        .send(errorBody('bad_url', 'the URL is malformed (a bad %-escape?)'))
    },
    ajv: { customOptions: { removeAdditional: false, coerceTypes: true, allErrors: false } },
  }).withTypeProvider<TypeBoxTypeProvider>() as unknown as Http

  app.register(cookie)
  securityHeaders(app)
  shedLoad(app, limits)

  // NUL and other control characters never reach a handler (PostgreSQL refuses NUL in text: a 500 otherwise).
  // Every global hook here is callback-style: an async hook costs a promise and a microtask turn per request.
  app.addHook('preValidation', (request, _reply, done) => {
    const field =
      controlCharField(request.params, 'params', CONTROL_IN_PARAM) ??
      controlCharField(request.query, 'querystring', CONTROL_IN_PARAM) ??
      controlCharField(request.body, 'body', CONTROL_IN_BODY)
    if (!field) return done()
    done(
      new AppError('validation_failed', `${field} must not contain control characters`, {
        details: { field },
      }),
    )
  })

  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error instanceof AppError) {
      if (error.status >= 500) request.log.warn({ err: error.cause ?? error }, error.message)
      return reply.status(error.status).send(errorBody(error.code, error.message, error.details))
    }
    if (error.validation) return reply.status(400).send(validationBody(error))
    switch (error.code) {
      case 'FST_ERR_CTP_INVALID_JSON_BODY':
      case 'FST_ERR_CTP_EMPTY_JSON_BODY':
        return reply.status(400).send(errorBody('invalid_json', 'the request body is not valid JSON'))
      case 'FST_ERR_CTP_BODY_TOO_LARGE':
        return reply
          .status(413)
          .send(errorBody('payload_too_large', `the request body is over ${options.bodyLimit} bytes`))
      case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
        return reply
          .status(415)
          .send(errorBody('unsupported_media_type', 'send the body as application/json'))
    }
    if (error instanceof SyntaxError && error.statusCode === 400) {
      return reply.status(400).send(errorBody('invalid_json', 'the request body is not valid JSON'))
    }
    if (isUnavailableError(error)) {
      request.log.warn({ err: error }, 'backing server unavailable')
      return reply
        .status(503)
        .send(errorBody('unavailable', 'a backing server is unavailable, try again shortly'))
    }
    if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
      // Fastify's own 4xx (bad content-length, …): its message names the problem, never a body fragment.
      return reply.status(error.statusCode).send(errorBody('bad_request', error.message))
    }
    // A bug: log everything, tell the client nothing it could misuse.
    request.log.error({ err: error }, 'unhandled error')
    return reply.status(500).send(errorBody('internal_error', 'something went wrong on our side'))
  })

  // Request durations by (method, route, status). Each route gets its own onResponse hook with its label values
  // bound when it is declared: a global hook would read `request.routeOptions`, a getter that builds a fresh
  // object on every call, and hash a label key per request.
  const timersOf = (route: string) => {
    const timers = new Map<string, { observe(value: number): void }>()
    return (method: string, status: number) => {
      const key = method + status
      let timer = timers.get(key)
      if (!timer) {
        timer = options.metrics.httpDuration.labels(method, route, String(status))
        timers.set(key, timer)
      }
      return timer
    }
  }
  app.addHook('onRoute', (route) => {
    const timer = timersOf(route.url)
    const observe: onResponseHookHandler = (request, reply, done) => {
      timer(request.method, reply.statusCode).observe(reply.elapsedTime / 1000)
      done()
    }
    const own = route.onResponse
    route.onResponse = own === undefined ? [observe] : [...(Array.isArray(own) ? own : [own]), observe]
  })
  const unmatched = timersOf('unmatched')
  app.setNotFoundHandler((request, reply) => {
    reply.raw.once('finish', () => unmatched(request.method, 404).observe(reply.elapsedTime / 1000))
    reply.status(404).send(errorBody('not_found', `no route ${request.method} ${request.url.split('?')[0]}`))
  })

  return app
}

/**
 * Load shedding and deadlines: @fastify/under-pressure answers 503 while the event loop lags; it does not count
 * requests in progress, which is what grows while a backing server hangs, so that cap is counted here, and every
 * request gets a 503 once it has waited `handlerTimeoutMs` for a backing server.
 */
function shedLoad(app: Http, limits: HttpLimits) {
  app.register(underPressure, {
    maxEventLoopDelay: 2000,
    exposeStatusRoute: false,
    pressureHandler: (_request, reply) => {
      reply
        .status(503)
        .header('retry-after', '2')
        .send(errorBody('unavailable', 'the server is overloaded, try again shortly'))
    },
  })
  let inFlight = 0
  app.addHook('onRequest', (_request, reply, done) => {
    if (inFlight >= limits.maxInFlight) {
      // Answered here: a callback hook that sends does not call done.
      reply
        .status(503)
        .header('retry-after', '1')
        .send(errorBody('unavailable', 'too many requests in progress, try again shortly'))
      return
    }
    inFlight++
    // A deadline per request. Hand-written because Fastify's own handlerTimeout is cleared by the request's
    // 'close' event, which Node emits as soon as a body has been read: POSTs were never bounded.
    const deadline = setTimeout(() => {
      if (reply.sent || reply.raw.headersSent) return
      reply
        .status(503)
        .send(errorBody('unavailable', 'a backing server did not answer in time, try again shortly'))
    }, limits.handlerTimeoutMs)
    // 'close' comes once per response: sent, failed or abandoned by the client.
    reply.raw.once('close', () => {
      clearTimeout(deadline)
      inFlight--
    })
    done()
  })
}

/** OpenAPI from the route schemas, at /openapi.json, browsable at /docs. Register before the routes. */
export async function registerDocs(app: Http): Promise<void> {
  await app.register(swagger, {
    openapi: {
      info: { title: 'hotspot', version: '0.1.0', description: 'Counters, SMS, cache, flash sale and tasks' },
      components: { securitySchemes: { admin: { type: 'http', scheme: 'bearer' } } },
    },
  })
  await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: docsContentSecurityPolicy() })
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger())
}
