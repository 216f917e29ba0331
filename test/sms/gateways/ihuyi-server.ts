import http from 'node:http'
import type { AddressInfo } from 'node:net'

/**
 * An ihuyi stand-in that holds to its published wire format (互亿无线 interface document v3.3 and its demos):
 * POST `/webservice/sms.php?method=Submit`, form-encoded `account`, `password`, `mobile` (11-digit mainland
 * number), `content`, `format=json`; answers `{"code":2,"msg":"提交成功","smsid":"…"}`, or an error code: 405 for
 * a wrong APIID/APIKEY, 406 for a malformed number, 404 for empty content, 409 for a malformed request.
 * `script` queues what the next submissions get instead (HTML pages, empty bodies, hangs, error codes).
 */
export type IhuyiScript = 'html-502' | 'empty' | 'hang' | { code: number; msg: string }

export interface Submission {
  mobile: string
  content: string
  smsid: string
}

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
      if (!req.headers['content-type']?.startsWith('application/x-www-form-urlencoded'))
        return json(res, { code: 409, msg: '参数错误', smsid: '0' })
      const form = new URLSearchParams(raw)
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
      if (form.get('format') !== 'json') return json(res, { code: 409, msg: '参数错误', smsid: '0' })
      if (!form.get('account')) return json(res, { code: 401, msg: '帐号不能为空', smsid: '0' })
      if (!form.get('password')) return json(res, { code: 402, msg: '密码不能为空', smsid: '0' })
      if (form.get('account') !== credentials.account || form.get('password') !== credentials.password)
        return json(res, { code: 405, msg: 'API ID 或 API KEY 不正确', smsid: '0' })
      const mobile = form.get('mobile') ?? ''
      if (mobile === '') return json(res, { code: 403, msg: '手机号码不能为空', smsid: '0' })
      if (!/^1[3-9]\d{9}$/.test(mobile)) return json(res, { code: 406, msg: '手机格式不正确', smsid: '0' })
      const content = form.get('content') ?? ''
      if (content === '') return json(res, { code: 404, msg: '短信内容不能为空', smsid: '0' })
      if (step) return json(res, { ...step, smsid: '0' })
      const smsid = String(next++)
      accepted.push({ mobile, content, smsid })
      json(res, { code: 2, msg: '提交成功', smsid })
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
