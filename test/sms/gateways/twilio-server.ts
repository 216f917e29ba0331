import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import http from 'node:http'
import type { AddressInfo } from 'node:net'

/**
 * A Twilio stand-in holding to its documented wire format. Messages API
 * (twilio.com/docs/messaging/api/message-resource#create-a-message-resource): POST
 * `/2010-04-01/Accounts/{AccountSid}/Messages.json`, HTTP basic auth `AccountSid:AuthToken` (else 401, code
 * 20003), form-encoded `To` (E.164; 21604 when missing, 21211 when malformed), `From` (a number of the account;
 * 21606 otherwise) or `MessagingServiceSid` (20404 when unknown; 21603 when neither is given), `Body` (21602
 * when empty, 21617 past 1600 characters), `StatusCallback`; answers 201 with the Message resource, errors as
 * `{"code","message","more_info","status"}` (twilio.com/docs/usage/twilios-response). Status callbacks
 * (twilio.com/docs/messaging/guides/track-outbound-message-status) are signed as twilio.com/docs/usage/security
 * says — computed here by hand, not with the SDK hotspot validates with.
 * `script` queues what the next submissions get instead (HTML pages, empty bodies, hangs, error answers; `{To}`
 * in a message is replaced by the number, as Twilio quotes it).
 */
export type TwilioScript = 'html-502' | 'empty' | 'hang' | { status: number; code: number; message: string }

export interface TwilioMessage {
  sid: string
  to: string
  from?: string
  messagingServiceSid?: string
  body: string
  statusCallback?: string
}

const hex = (bytes: number) => randomBytes(bytes).toString('hex')

/** Twilio's request signature: HMAC-SHA1(auth token, URL + each parameter's name and value sorted by name). */
export function twilioSignature(authToken: string, url: string, params: Record<string, string>): string {
  const data = Object.keys(params)
    .sort()
    .reduce((acc, key) => acc + key + params[key], url)
  return createHmac('sha1', authToken).update(Buffer.from(data, 'utf8')).digest('base64')
}

export async function startTwilioServer(account: {
  accountSid: string
  authToken: string
  from?: string
  messagingServiceSid?: string
}) {
  const accepted: TwilioMessage[] = []
  const script: TwilioScript[] = []
  let requests = 0
  const json = (res: http.ServerResponse, status: number, body: object) => {
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' })
    res.end(JSON.stringify(body))
  }
  const error = (res: http.ServerResponse, status: number, code: number, message: string) =>
    json(res, status, { code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status })
  const authorized = (header: string | undefined) => {
    const expected = Buffer.from(
      `Basic ${Buffer.from(`${account.accountSid}:${account.authToken}`).toString('base64')}`,
    )
    const given = Buffer.from(header ?? '')
    return given.length === expected.length && timingSafeEqual(given, expected)
  }
  const server = http.createServer((req, res) => {
    let raw = ''
    req.on('data', (chunk) => {
      raw += chunk
    })
    req.on('end', () => {
      requests += 1
      const path = `/2010-04-01/Accounts/${account.accountSid}/Messages.json`
      if (!authorized(req.headers.authorization)) return error(res, 401, 20003, 'Authenticate')
      if (req.method !== 'POST' || new URL(req.url ?? '/', 'http://x').pathname !== path)
        return error(res, 404, 20404, 'The requested resource was not found')
      if (!req.headers['content-type']?.startsWith('application/x-www-form-urlencoded'))
        return error(res, 400, 21200, 'Request is not form-encoded')
      const form = new URLSearchParams(raw)
      const to = form.get('To') ?? ''
      const step = script.shift()
      if (step === 'hang') return // never answers; the client must give up on its own
      if (step === 'html-502') {
        res.writeHead(502, { 'content-type': 'text/html' })
        return res.end('<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>')
      }
      if (step === 'empty') {
        res.writeHead(201, { 'content-type': 'application/json' })
        return res.end('')
      }
      if (step) return error(res, step.status, step.code, step.message.replace('{To}', to))
      if (to === '') return error(res, 400, 21604, "A 'To' phone number is required.")
      if (!/^\+[1-9]\d{7,14}$/.test(to))
        return error(res, 400, 21211, `The 'To' number ${to} is not a valid phone number.`)
      const from = form.get('From') ?? undefined
      const service = form.get('MessagingServiceSid') ?? undefined
      if (!from && !service) return error(res, 400, 21603, "A 'From' phone number is required.")
      if (service !== undefined && service !== account.messagingServiceSid)
        return error(res, 404, 20404, `The requested resource /Services/${service} was not found`)
      if (from !== undefined && from !== account.from)
        return error(
          res,
          400,
          21606,
          `The From phone number ${from} is not a valid, SMS-capable inbound phone number or short code for your account.`,
        )
      const body = form.get('Body') ?? ''
      if (body === '') return error(res, 400, 21602, 'Message body is required.')
      if ([...body].length > 1600)
        return error(res, 400, 21617, 'The concatenated message body exceeds the 1600 character limit.')
      const sid = `SM${hex(16)}`
      const statusCallback = form.get('StatusCallback') ?? undefined
      accepted.push({
        sid,
        to,
        body,
        ...(from ? { from } : {}),
        ...(service ? { messagingServiceSid: service } : {}),
        ...(statusCallback ? { statusCallback } : {}),
      })
      json(res, 201, {
        account_sid: account.accountSid,
        api_version: '2010-04-01',
        body,
        date_created: new Date().toUTCString(),
        direction: 'outbound-api',
        error_code: null,
        error_message: null,
        from: from ?? null,
        messaging_service_sid: service ?? null,
        num_media: '0',
        num_segments: '1',
        sid,
        status: service ? 'accepted' : 'queued',
        to,
        uri: `/2010-04-01/Accounts/${account.accountSid}/Messages/${sid}.json`,
      })
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    accepted,
    script,
    get requests() {
      return requests
    },
    /** The status callback Twilio would post for a message, signed for its StatusCallback URL. */
    statusCallback(message: TwilioMessage, status: string, errorCode?: string) {
      const params: Record<string, string> = {
        AccountSid: account.accountSid,
        ApiVersion: '2010-04-01',
        MessageSid: message.sid,
        MessageStatus: status,
        SmsSid: message.sid,
        SmsStatus: status,
        To: message.to,
        ...(message.from ? { From: message.from } : {}),
        ...(message.messagingServiceSid ? { MessagingServiceSid: message.messagingServiceSid } : {}),
        ...(errorCode ? { ErrorCode: errorCode } : {}),
      }
      const url = message.statusCallback ?? ''
      return { url, params, signature: twilioSignature(account.authToken, url, params) }
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
