import { createHash } from 'node:crypto'
import http from 'node:http'
import type { AddressInfo } from 'node:net'

/**
 * An ihuyi stand-in that holds to its published wire format ("互亿无线短信验证码 API v3.3", §3 and §8, and its
 * demos): `…/webservice/sms.php?method=Submit`, form-encoded `account`, `password`, `mobile` (one 11-digit
 * mainland number), `content`, `time`, `format`. `password` is the APIKEY in clear, or with `time` (10-digit
 * Unix seconds) the dynamic password md5(account + APIKEY + mobile + content + time): 40501 when that time is
 * stale (the document gives no window; 10 minutes here), 40502 when the md5 does not match, 405 for a wrong
 * APIKEY. Answers `{"code":2,"msg":"提交成功","smsid":"…"}` with `format=json`, the document's XML
 * `<SubmitResult>` otherwise (its default); 401–406 and 4073 for missing or malformed fields. A body that is not
 * form-encoded reads as no fields, as PHP reads it. `script` queues what the next submissions get instead
 * (HTML pages, empty bodies, hangs, error codes).
 */
export type IhuyiScript = 'html-502' | 'empty' | 'hang' | { code: number; msg: string }

export interface Submission {
  mobile: string
  content: string
  smsid: string
  /** How `password` proved the APIKEY: in clear, or as the dynamic md5. */
  auth: 'plain' | 'dynamic'
}

const md5 = (text: string) => createHash('md5').update(text, 'utf8').digest('hex')
const STALE_SECONDS = 600

export async function startIhuyiServer(credentials: { account: string; password: string }) {
  const accepted: Submission[] = []
  const script: IhuyiScript[] = []
  let requests = 0
  let next = 100_000
  const json = (res: http.ServerResponse, body: object) => {
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' })
    res.end(JSON.stringify(body))
  }
  const server = http.createServer((req, res) => {
    let raw = ''
    req.on('data', (chunk) => {
      raw += chunk
    })
    req.on('end', () => {
      requests += 1
      const url = new URL(req.url ?? '/', 'http://x')
      if (
        req.method !== 'POST' ||
        url.pathname !== '/webservice/sms.php' ||
        url.searchParams.get('method') !== 'Submit'
      ) {
        res.writeHead(404, { 'content-type': 'text/html' })
        return res.end('<html><body>404 Not Found</body></html>')
      }
      const isForm = req.headers['content-type']?.startsWith('application/x-www-form-urlencoded')
      const form = new URLSearchParams(isForm ? raw : '')
      const answer = (body: { code: number; msg: string; smsid: string }) => {
        if (form.get('format') === 'json') return json(res, body)
        res.writeHead(200, { 'content-type': 'text/xml; charset=utf-8' })
        res.end(
          `<?xml version="1.0" encoding="utf-8"?>\n<SubmitResult xmlns="106.ihuyi.com">\n<code>${body.code}</code>\n<msg>${body.msg}</msg>\n<smsid>${body.smsid}</smsid>\n</SubmitResult>`,
        )
      }
      const refuse = (code: number, msg: string) => answer({ code, msg, smsid: '0' })
      const step = script.shift()
      if (step === 'hang') return // never answers; the client must give up on its own
      if (step === 'html-502') {
        res.writeHead(502, { 'content-type': 'text/html' })
        return res.end('<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>')
      }
      if (step === 'empty') {
        res.writeHead(200, { 'content-type': 'application/json' })
        return res.end('')
      }
      const account = form.get('account') ?? ''
      const password = form.get('password') ?? ''
      const mobile = form.get('mobile') ?? ''
      const content = form.get('content') ?? ''
      const time = form.get('time')
      if (account === '') return refuse(401, '帐号不能为空')
      if (password === '') return refuse(402, '密码不能为空')
      if (account !== credentials.account) return refuse(405, 'API ID 或 API KEY 不正确')
      let auth: Submission['auth'] = 'plain'
      if (time !== null) {
        if (!/^\d{10}$/.test(time) || Math.abs(Date.now() / 1000 - Number(time)) > STALE_SECONDS)
          return refuse(40501, '动态密码已过期')
        if (password !== md5(`${account}${credentials.password}${mobile}${content}${time}`))
          return refuse(40502, '动态密码校验失败')
        auth = 'dynamic'
      } else if (password !== credentials.password) return refuse(405, 'API ID 或 API KEY 不正确')
      if (mobile === '') return refuse(403, '手机号码不能为空')
      if (!/^1[3-9]\d{9}$/.test(mobile)) return refuse(406, '手机号码格式不正确')
      if (content === '') return refuse(404, '短信内容不能为空')
      if ([...content].length > 300) return refuse(4073, '短信内容超出长度限制')
      if (step) return refuse(step.code, step.msg)
      const smsid = String(next++)
      accepted.push({ mobile, content, smsid, auth })
      answer({ code: 2, msg: '提交成功', smsid })
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}/webservice/sms.php?method=Submit`,
    accepted,
    script,
    get requests() {
      return requests
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
