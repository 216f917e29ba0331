import { createHmac, randomUUID } from 'node:crypto'
import { GatewayError, gatewayFetch, gatewayJson } from './errors.ts'

/**
 * A signed call to an Aliyun RPC-style API (dysmsapi 2017-05-25), signature v1 as documented in "签名机制" /
 * "Signature mechanism" (help.aliyun.com/document_detail/28839.html, and …/315526.html for dysmsapi): every
 * parameter but `Signature`, sorted by name, each name and value percent-encoded (RFC 3986: only A-Z a-z 0-9
 * - _ . ~ left as is, space as %20), joined `k=v&…`; StringToSign = METHOD & %2F & percentEncode(that);
 * Signature = base64(HMAC-SHA1(AccessKeySecret + "&", StringToSign)).
 *
 * Signed by hand rather than with @alicloud/dysmsapi20170525: the SDK signs v3 (ACS3-HMAC-SHA256) by default,
 * needs a postinstall script this project does not allow, brings ~70 packages, and turns an HTML error page or
 * an empty body into an untyped JSON parse error, where this client must tell "retry" from "final".
 */
export interface AliyunCredentials {
  accessKeyId: string
  accessKeySecret: string
}

/** RFC 3986 encoding as Aliyun's signature wants it (encodeURIComponent leaves ! ' ( ) * alone). */
export const percentEncode = (value: string) =>
  encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)

export function rpcSignature(method: string, params: Record<string, string>, secret: string): string {
  const canonical = Object.keys(params)
    .filter((k) => k !== 'Signature')
    .sort()
    .map((k) => `${percentEncode(k)}=${percentEncode(params[k] as string)}`)
    .join('&')
  const toSign = `${method}&${percentEncode('/')}&${percentEncode(canonical)}`
  return createHmac('sha1', `${secret}&`).update(toSign).digest('base64')
}

/** yyyy-MM-ddTHH:mm:ssZ (UTC), the format Timestamp must have. */
const timestamp = () => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z')

export async function callAliyun(
  url: string,
  credentials: AliyunCredentials,
  action: string,
  actionParams: Record<string, string>,
  timeoutMs: number,
): Promise<Record<string, unknown>> {
  const params: Record<string, string> = {
    ...actionParams,
    Action: action,
    Version: '2017-05-25',
    Format: 'JSON',
    RegionId: 'cn-hangzhou',
    AccessKeyId: credentials.accessKeyId,
    SignatureMethod: 'HMAC-SHA1',
    SignatureVersion: '1.0',
    SignatureNonce: randomUUID(),
    Timestamp: timestamp(),
  }
  params.Signature = rpcSignature('POST', params, credentials.accessKeySecret)
  const res = await gatewayFetch(
    'aliyun',
    url,
    {
      method: 'POST',
      body: new URLSearchParams(params),
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    },
    timeoutMs,
  )
  const answer = await gatewayJson('aliyun', res)
  if (
    typeof answer !== 'object' ||
    answer === null ||
    typeof (answer as { Code?: unknown }).Code !== 'string'
  )
    throw new GatewayError('aliyun', 'retry', `answer without a Code (HTTP ${res.status})`)
  return answer as Record<string, unknown>
}
