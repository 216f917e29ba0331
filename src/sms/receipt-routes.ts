import { timingSafeEqual } from 'node:crypto'
import formbody from '@fastify/formbody'
import { Type } from 'typebox'
import { AppError } from '../errors.ts'
import type { Http } from '../infra/http.ts'
import type { SmsGatewaysConfig } from './config.ts'
import { smsErrors } from './errors.ts'
import { twilioReceipt, validTwilioSignature } from './providers/twilio.ts'
import type { SmsService } from './service.ts'

const sameSecret = (given: string, expected: string) => {
  const a = Buffer.from(given)
  const b = Buffer.from(expected)
  return a.length === b.length && timingSafeEqual(a, b)
}

/**
 * Delivery receipts pushed by gateways (issue 20 item 5). Each route checks what its gateway can prove — a
 * signature, or a secret only the operator and the gateway know — before anything changes; a receipt for a
 * message id hotspot never recorded changes nothing. Form bodies are parsed in this scope only.
 */
export function receiptRoutes(app: Http, deps: { sms: SmsService; gateways: SmsGatewaysConfig }) {
  const { sms, gateways } = deps
  app.register(async (scope: Http) => {
    await scope.register(formbody, { bodyLimit: 16_384 })

    // ihuyi pushes receipts (v3.3 document §5: form POST of code, msg, mobilephone, smsid, report_time; code 2 =
    // delivered) to the address registered in its back office, and takes the plain text `success` as "received"
    // (anything else is pushed again, up to 3 times); it signs nothing, so that address carries
    // IHUYI_RECEIPT_SECRET.
    scope.post(
      '/api/sms/receipts/ihuyi',
      {
        schema: {
          tags: ['sms'],
          querystring: Type.Object({ secret: Type.String({ maxLength: 256 }) }),
          body: Type.Object({
            code: Type.String({ maxLength: 16 }),
            msg: Type.Optional(Type.String({ maxLength: 500 })),
            mobilephone: Type.Optional(Type.String({ maxLength: 32 })),
            smsid: Type.String({ minLength: 1, maxLength: 128 }),
            report_time: Type.Optional(Type.String({ maxLength: 64 })),
          }),
        },
      },
      async (request, reply) => {
        const expected = gateways.ihuyi.receiptSecret
        if (!expected || !sameSecret(request.query.secret, expected))
          throw new AppError('unauthorized', 'this receipt is not signed by the gateway')
        const { code, msg, smsid, report_time } = request.body
        const id = await sms.applyReceipt({
          gateway: 'ihuyi',
          messageId: smsid,
          delivered: code === '2',
          ...(code === '2' ? {} : { error: `ihuyi receipt code ${code}${msg ? ` (${msg})` : ''}` }),
          ...(report_time ? { at: report_time } : {}),
        })
        if (!id) throw smsErrors.error('sms_not_found', 'no SMS was sent under this gateway message id')
        return reply.status(200).type('text/plain; charset=utf-8').send('success')
      },
    )

    // Twilio's status callbacks (form POST: MessageSid, MessageStatus, AccountSid, ErrorCode, …) to the
    // StatusCallback each message named, signed with X-Twilio-Signature over that URL and every parameter.
    scope.post(
      '/api/sms/receipts/twilio',
      {
        schema: {
          tags: ['sms'],
          headers: Type.Object({ 'x-twilio-signature': Type.Optional(Type.String({ maxLength: 256 })) }),
          body: Type.Object({
            MessageSid: Type.String({ minLength: 1, maxLength: 64 }),
            MessageStatus: Type.String({ minLength: 1, maxLength: 32 }),
            AccountSid: Type.String({ maxLength: 64 }),
            ErrorCode: Type.Optional(Type.String({ maxLength: 16 })),
          }),
        },
      },
      async (request, reply) => {
        const { accountSid, authToken, statusCallbackUrl } = gateways.twilio
        const signature = request.headers['x-twilio-signature']
        // The signature covers the URL Twilio called: the public StatusCallback hotspot gave it, not the
        // address this request arrived at behind a proxy.
        const signed =
          authToken !== undefined &&
          statusCallbackUrl !== undefined &&
          signature !== undefined &&
          validTwilioSignature(
            authToken,
            signature,
            statusCallbackUrl,
            request.body as Record<string, unknown>,
          )
        if (!signed || request.body.AccountSid !== accountSid)
          throw new AppError('unauthorized', 'this receipt is not signed by the gateway')
        const { MessageSid, MessageStatus, ErrorCode } = request.body
        const outcome = twilioReceipt(MessageStatus)
        if (!outcome) return reply.status(200).send({ ok: true }) // queued, sent, …: nothing final yet
        const id = await sms.applyReceipt({
          gateway: 'twilio',
          messageId: MessageSid,
          delivered: outcome === 'delivered',
          ...(outcome === 'delivered'
            ? {}
            : { error: `twilio status ${MessageStatus}${ErrorCode ? ` (error ${ErrorCode})` : ''}` }),
        })
        if (!id) throw smsErrors.error('sms_not_found', 'no SMS was sent under this gateway message id')
        return reply.status(200).send({ ok: true })
      },
    )
  })
}
