import { Type } from 'typebox'
import type { AdminCheck } from '../infra/auth.ts'
import type { Http } from '../infra/http.ts'
import { setRateLimitHeaders } from '../ratelimit/index.ts'
import { rateLimited } from './rate-limited.ts'
import type { SmsService } from './service.ts'

const Encoding = Type.Union([Type.Literal('GSM-7'), Type.Literal('UCS-2')])
const Status = Type.Union([
  Type.Literal('queued'),
  Type.Literal('sending'),
  Type.Literal('sent'),
  Type.Literal('failed'),
  Type.Literal('delivered'),
  Type.Literal('undelivered'),
])
const RateLimited = Type.Object({
  error: Type.Object({
    code: Type.Literal('rate_limited'),
    message: Type.String(),
    retryAfter: Type.Integer(),
  }),
})

/** A message as GET /api/sms/:id and the admin list show it: state, gateway, each part's message id and receipt. */
const SmsViewFields = {
  id: Type.String(),
  phone: Type.String({ description: 'masked' }),
  status: Status,
  encoding: Encoding,
  segments: Type.Integer(),
  attempts: Type.Integer(),
  createdAt: Type.String(),
  sentAt: Type.Optional(Type.String()),
  error: Type.Optional(Type.String({ description: "the gateway's refusal or the last delivery error" })),
  gateway: Type.Optional(Type.String()),
  receipts: Type.Optional(
    Type.Array(
      Type.Object({
        part: Type.Integer(),
        messageId: Type.String(),
        status: Type.Union([Type.Literal('sent'), Type.Literal('delivered'), Type.Literal('undelivered')]),
        error: Type.Optional(Type.String()),
        reportedAt: Type.Optional(Type.String()),
      }),
    ),
  ),
}

export const quotaMessage = {
  phone: 'this phone has used its SMS quota',
  address: 'this client address has used its SMS quota',
  global: 'the SMS budget of this service is used up for now',
} as const

/** SMS over HTTP: parse, call the service, answer. */
export function smsRoutes(app: Http, deps: { sms: SmsService; admin: AdminCheck }) {
  const { sms, admin } = deps

  app.post(
    '/api/sms',
    {
      schema: {
        tags: ['sms'],
        body: Type.Object(
          // Lengths and emptiness are checked by the service, to answer invalid_phone / invalid_content.
          { phone: Type.String(), content: Type.String() },
          { additionalProperties: false },
        ),
        response: {
          202: Type.Object({
            id: Type.String(),
            phone: Type.String({ description: 'masked' }),
            encoding: Encoding,
            segments: Type.Integer(),
            status: Type.Literal('queued'),
          }),
          429: RateLimited,
        },
      },
    },
    async (request, reply) => {
      const result = await sms.send(request.body.phone, request.body.content, { address: request.ip })
      setRateLimitHeaders(reply, result.quota)
      if (!result.accepted) throw rateLimited(reply, result.retryAfterMs, quotaMessage[result.which])
      return reply.status(202).send(result.sms)
    },
  )

  app.get(
    '/api/sms',
    {
      onRequest: admin.requireAdmin,
      schema: {
        tags: ['sms'],
        security: [{ admin: [] }],
        querystring: Type.Object({
          phone: Type.Optional(Type.String()),
          status: Type.Optional(Status),
          limit: Type.Integer({ minimum: 1, maximum: 500, default: 50 }),
        }),
        response: { 200: Type.Object({ messages: Type.Array(Type.Object(SmsViewFields)) }) },
      },
    },
    async (request) => ({ messages: await sms.recent(request.query) }),
  )

  app.get(
    '/api/sms/outbox',
    {
      onRequest: admin.requireAdmin,
      schema: {
        tags: ['sms'],
        security: [{ admin: [] }],
        querystring: Type.Object({
          phone: Type.Optional(Type.String()),
          limit: Type.Integer({ minimum: 1, maximum: 500, default: 50 }),
        }),
        response: {
          200: Type.Object({
            parts: Type.Array(
              Type.Object({
                smsId: Type.String(),
                part: Type.Integer(),
                phone: Type.String({ description: 'masked' }),
                body: Type.String(),
                deliveredAt: Type.String(),
              }),
            ),
          }),
        },
      },
    },
    async (request) => ({ parts: await sms.outbox(request.query) }),
  )

  app.get(
    '/api/sms/:id',
    {
      schema: {
        tags: ['sms'],
        params: Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) }),
        response: {
          200: Type.Object({
            ...SmsViewFields,
            content: Type.Optional(Type.String({ description: 'admin only' })),
            parts: Type.Optional(Type.Array(Type.String(), { description: 'admin only' })),
          }),
        },
      },
    },
    async (request) => sms.get(request.params.id, { admin: admin.isAdmin(request.headers.authorization) }),
  )
}
