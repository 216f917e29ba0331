import { createHmac, randomUUID } from 'node:crypto'
import http from 'node:http'
import type { AddressInfo } from 'node:net'

/**
 * An Aliyun dysmsapi (2017-05-25) stand-in that holds to its documented wire format:
 * - RPC signature v1 ("签名机制", help.aliyun.com/document_detail/28839.html; dysmsapi: …/315526.html): common
 *   parameters Action, Version, Format, AccessKeyId, SignatureMethod=HMAC-SHA1, SignatureVersion=1.0,
 *   SignatureNonce (never twice), Timestamp (UTC, ±15 min), Signature = base64 HMAC-SHA1 with key
 *   `secret&` over `METHOD&%2F&percentEncode(sorted k=v&…)`; parameters may come in the query or a form body.
 *   A wrong signature is HTTP 400 SignatureDoesNotMatch, an unknown AccessKeyId HTTP 404
 *   InvalidAccessKeyId.NotFound, a reused nonce 400 SignatureNonceUsed, a missing parameter 400 Missing<Name>.
 * - SendSms (…/419273.html): PhoneNumbers, SignName, TemplateCode, TemplateParam (JSON object of strings);
 *   `{"Code":"OK","Message":"OK","BizId":"…","RequestId":"…"}`, business errors HTTP 200 with `Code`
 *   isv.SMS_SIGNATURE_ILLEGAL, isv.SMS_TEMPLATE_ILLEGAL, isv.INVALID_JSON_PARAM, isv.TEMPLATE_MISSING_PARAMETERS,
 *   isv.MOBILE_NUMBER_ILLEGAL (error codes: …/101346.html).
 * - QuerySendDetails (…/419277.html): PhoneNumber, BizId, SendDate (yyyyMMdd, Beijing time), PageSize,
 *   CurrentPage; `SmsSendDetailDTOs.SmsSendDetailDTO[]` with SendStatus 1 waiting / 2 failed / 3 delivered.
 * `script` queues what the next SendSms calls get instead (HTML pages, empty bodies, hangs, error bodies).
 */
export type AliyunScript = 'html-502' | 'empty' | 'hang' | { status?: number; Code: string; Message: string }

export interface AliyunSubmission {
  phone: string
  templateCode: string
  params: Record<string, string>
  bizId: string
  sendDate: string
  status: 1 | 2 | 3
  errCode: string
  receiveDate: string
}

// The documented encoding, written out again here (not imported) so a mistake in hotspot's is not mirrored.
const encode = (s: string) =>
  encodeURIComponent(s)
    .replace(/\+/g, '%20')
    .replace(/\*/g, '%2A')
    .replace(/!/g, '%21')
    .replace(/'/g, '%27')
    .replace(/\(/g, '%28')
    .replace(/\)/g, '%29')

export function aliyunSign(method: string, params: Record<string, string>, secret: string) {
  const query = Object.entries(params)
    .filter(([k]) => k !== 'Signature')
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${encode(k)}=${encode(v)}`)
    .join('&')
  return createHmac('sha1', `${secret}&`)
    .update(`${method}&${encode('/')}&${encode(query)}`)
    .digest('base64')
}

const beijingDay = (at: number) => new Date(at + 8 * 3_600_000).toISOString().slice(0, 10).replaceAll('-', '')
const beijingTime = (at: number) => new Date(at + 8 * 3_600_000).toISOString().slice(0, 19).replace('T', ' ')

export async function startAliyunServer(options: {
  accessKeyId: string
  accessKeySecret: string
  signName: string
  /** Registered templates: code → its variables. */
  templates: Record<string, string[]>
}) {
  const accepted: AliyunSubmission[] = []
  const script: AliyunScript[] = []
  const nonces = new Set<string>()
  const actions: string[] = []
  let next = 900_000_000
  const json = (res: http.ServerResponse, status: number, body: object) => {
    res.writeHead(status, { 'content-type': 'application/json;charset=utf-8' })
    res.end(JSON.stringify({ RequestId: randomUUID(), ...body }))
  }
  const refuse = (res: http.ServerResponse, status: number, Code: string, Message: string) =>
    json(res, status, { HostId: 'dysmsapi.aliyuncs.com', Code, Message })

  function sendSms(res: http.ServerResponse, p: Record<string, string>) {
    for (const name of ['PhoneNumbers', 'SignName', 'TemplateCode'])
      if (!p[name]) return refuse(res, 400, `Missing${name}`, `${name} is mandatory for this action.`)
    const step = script.shift()
    if (step === 'hang') return // never answers
    if (step === 'html-502') {
      res.writeHead(502, { 'content-type': 'text/html' })
      return res.end('<html><head><title>502 Bad Gateway</title></head><body>Tengine</body></html>')
    }
    if (step === 'empty') {
      res.writeHead(200, { 'content-type': 'application/json' })
      return res.end('')
    }
    if (step) return json(res, step.status ?? 200, { Code: step.Code, Message: step.Message })
    if (p.SignName !== options.signName)
      return json(res, 200, { Code: 'isv.SMS_SIGNATURE_ILLEGAL', Message: '该账号下找不到对应签名' })
    const variables = options.templates[p.TemplateCode as string]
    if (!variables)
      return json(res, 200, { Code: 'isv.SMS_TEMPLATE_ILLEGAL', Message: '该账号下找不到对应模板' })
    let params: Record<string, string>
    try {
      params = JSON.parse(p.TemplateParam ?? '{}')
      if (typeof params !== 'object' || Object.values(params).some((v) => typeof v !== 'string'))
        throw new Error('not an object of strings')
    } catch {
      return json(res, 200, { Code: 'isv.INVALID_JSON_PARAM', Message: 'JSON参数不合法，只接受字符串值' })
    }
    if (variables.some((v) => !(v in params)))
      return json(res, 200, { Code: 'isv.TEMPLATE_MISSING_PARAMETERS', Message: '模板缺少变量' })
    const phone = p.PhoneNumbers as string
    if (!/^1[3-9]\d{9}$/.test(phone) && !/^(?!86)[1-9]\d{7,14}$/.test(phone))
      return json(res, 200, { Code: 'isv.MOBILE_NUMBER_ILLEGAL', Message: '非法手机号' })
    const bizId = `${next++}^0`
    accepted.push({
      phone,
      templateCode: p.TemplateCode as string,
      params,
      bizId,
      sendDate: beijingDay(Date.now()),
      status: 1,
      errCode: '',
      receiveDate: '',
    })
    json(res, 200, { Code: 'OK', Message: 'OK', BizId: bizId })
  }

  function querySendDetails(res: http.ServerResponse, p: Record<string, string>) {
    for (const name of ['PhoneNumber', 'SendDate', 'PageSize', 'CurrentPage'])
      if (!p[name]) return refuse(res, 400, `Missing${name}`, `${name} is mandatory for this action.`)
    if (!/^\d{8}$/.test(p.SendDate as string))
      return json(res, 200, { Code: 'isv.INVALID_PARAMETERS', Message: '参数异常' })
    const found = accepted.filter(
      (s) => s.phone === p.PhoneNumber && s.sendDate === p.SendDate && (!p.BizId || s.bizId === p.BizId),
    )
    json(res, 200, {
      Code: 'OK',
      Message: 'OK',
      TotalCount: found.length,
      SmsSendDetailDTOs: {
        SmsSendDetailDTO: found.map((s) => ({
          PhoneNum: s.phone,
          SendStatus: s.status,
          ErrCode: s.status === 3 ? 'DELIVERED' : s.errCode,
          TemplateCode: s.templateCode,
          Content: '【hotspot】…',
          SendDate: `${s.sendDate.slice(0, 4)}-${s.sendDate.slice(4, 6)}-${s.sendDate.slice(6)} 00:00:00`,
          ReceiveDate: s.receiveDate,
          OutId: '',
        })),
      },
    })
  }

  const server = http.createServer((req, res) => {
    let raw = ''
    req.on('data', (chunk) => {
      raw += chunk
    })
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://x')
      if (url.pathname !== '/' || (req.method !== 'POST' && req.method !== 'GET')) {
        res.writeHead(404, { 'content-type': 'text/html' })
        return res.end('<html><body>404 Not Found</body></html>')
      }
      const p: Record<string, string> = Object.fromEntries(url.searchParams)
      if (
        req.method === 'POST' &&
        req.headers['content-type']?.startsWith('application/x-www-form-urlencoded')
      )
        Object.assign(p, Object.fromEntries(new URLSearchParams(raw)))
      for (const name of [
        'Action',
        'Version',
        'AccessKeyId',
        'Signature',
        'SignatureMethod',
        'SignatureVersion',
        'SignatureNonce',
        'Timestamp',
      ])
        if (!p[name]) return refuse(res, 400, `Missing${name}`, `${name} is mandatory for this action.`)
      if (p.Format && p.Format !== 'JSON') return refuse(res, 400, 'InvalidFormat', 'only JSON here')
      if (p.SignatureMethod !== 'HMAC-SHA1' || p.SignatureVersion !== '1.0')
        return refuse(res, 400, 'InvalidSignatureMethod', 'Specified signature method is not valid.')
      if (p.AccessKeyId !== options.accessKeyId)
        return refuse(res, 404, 'InvalidAccessKeyId.NotFound', 'Specified access key is not found.')
      if (p.Signature !== aliyunSign(req.method, p, options.accessKeySecret))
        return refuse(
          res,
          400,
          'SignatureDoesNotMatch',
          'Specified signature is not matched with our calculation.',
        )
      const at = Date.parse(p.Timestamp as string)
      if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/.test(p.Timestamp as string) || Number.isNaN(at))
        return refuse(res, 400, 'InvalidTimeStamp.Format', 'Specified time stamp is not valid.')
      if (Math.abs(Date.now() - at) > 15 * 60_000)
        return refuse(res, 400, 'InvalidTimeStamp.Expired', 'Specified time stamp or date header is expired.')
      if (nonces.has(p.SignatureNonce as string))
        return refuse(res, 400, 'SignatureNonceUsed', 'Specified signature nonce was used already.')
      nonces.add(p.SignatureNonce as string)
      if (p.Version !== '2017-05-25')
        return refuse(res, 400, 'InvalidVersion', 'Specified parameter Version is not valid.')
      actions.push(p.Action as string)
      if (p.Action === 'SendSms') return sendSms(res, p)
      if (p.Action === 'QuerySendDetails') return querySendDetails(res, p)
      refuse(
        res,
        404,
        'InvalidAction.NotFound',
        'Specified api is not found, please check your url and method.',
      )
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}/`,
    accepted,
    script,
    actions,
    /** The handset's report arrives: the next QuerySendDetails shows it. */
    report(bizId: string, delivered: boolean, errCode = 'MOBILE_NOT_ON_SERVICE') {
      const s = accepted.find((a) => a.bizId === bizId)
      if (!s) throw new Error(`no message ${bizId}`)
      s.status = delivered ? 3 : 2
      s.errCode = delivered ? 'DELIVERED' : errCode
      s.receiveDate = beijingTime(Date.now())
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
