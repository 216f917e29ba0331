import { adminToken, forgetAdminToken } from '../admin/token.ts'

/** An answer of the API that is not a success, or no answer at all (`status` 0, code `network`). */
export class ApiError extends Error {
  override name = 'ApiError'
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
    /** Seconds, from `Retry-After` (or the body's `retryAfter`) on a 429. */
    readonly retryAfter?: number,
  ) {
    super(message)
  }
}

export interface RequestOptions {
  method?: 'GET' | 'POST' | 'PUT' | 'DELETE'
  body?: unknown
  /** Sends the admin token kept for this tab. */
  admin?: boolean
  signal?: AbortSignal
}

function retryAfterOf(response: Response, body: { retryAfter?: unknown }): number | undefined {
  const header = Number(response.headers.get('retry-after'))
  if (Number.isFinite(header) && header > 0) return Math.ceil(header)
  return typeof body.retryAfter === 'number' ? body.retryAfter : undefined
}

/** Calls the hotspot HTTP API: JSON in and out, every error as an ApiError carrying the API's code. */
export async function api<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const prefetched = options.method === undefined && !options.admin ? takePrefetched(path) : undefined
  const response = (await prefetched) ?? (await send(path, options))
  return parse<T>(response, options)
}

/** A GET that index.html started before the app loaded (home page), handed out once. */
function takePrefetched(path: string): Promise<Response | undefined> | undefined {
  const started = window.__hotspotPrefetch?.[path]
  if (started) delete window.__hotspotPrefetch?.[path]
  return started
}

async function send(path: string, options: RequestOptions): Promise<Response> {
  const headers: Record<string, string> = { accept: 'application/json' }
  if (options.body !== undefined) headers['content-type'] = 'application/json'
  if (options.admin && adminToken.value) headers.authorization = `Bearer ${adminToken.value}`
  try {
    return await fetch(path, {
      method: options.method ?? 'GET',
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      signal: options.signal,
      credentials: 'same-origin', // the hs_vid visitor cookie
    })
  } catch (error) {
    if ((error as Error).name === 'AbortError') throw error
    throw new ApiError(0, 'network', 'the server cannot be reached')
  }
}

async function parse<T>(response: Response, options: RequestOptions): Promise<T> {
  if (response.status === 204) return undefined as T
  const text = await response.text()
  let json: unknown
  try {
    json = text ? JSON.parse(text) : undefined
  } catch {
    json = undefined
  }
  if (response.ok) return json as T
  const error = ((json as { error?: Record<string, unknown> } | undefined)?.error ?? {}) as Record<
    string,
    unknown
  >
  const code = typeof error.code === 'string' ? error.code : `http_${response.status}`
  const message = typeof error.message === 'string' ? error.message : response.statusText
  if (code === 'unauthorized' && options.admin) forgetAdminToken('refused')
  throw new ApiError(response.status, code, message, error, retryAfterOf(response, error))
}
