/**
 * `redis+sentinel://[:password@]host1:26379,host2:26379/<master-name>[/db]`, or Celery's spelling
 * `sentinel://[:password@]host1:26379;sentinel://host2:26379/<master-name>[/db]`. Parsed by hand because
 * WHATWG `URL` rejects a host list. Kept pure so each error is unit-tested.
 */
export interface SentinelTarget {
  sentinels: { host: string; port: number }[]
  masterName: string
  db: number
  username?: string
  password?: string
}

const SCHEME = /^(redis\+sentinel|sentinel):\/\//i

export function isSentinelUrl(raw: string): boolean {
  return SCHEME.test(raw.trim())
}

export function parseSentinelUrl(raw: string): SentinelTarget {
  // Celery joins one full URL per sentinel with `;`: fold them into one host list.
  const parts = raw
    .split(';')
    .map((p) => p.trim())
    .filter(Boolean)
  const sentinels: SentinelTarget['sentinels'] = []
  let masterName = ''
  let db = 0
  let username: string | undefined
  let password: string | undefined
  for (const part of parts) {
    if (!SCHEME.test(part))
      throw new Error('every URL of the list must start with redis+sentinel:// or sentinel://')
    const rest = part.replace(SCHEME, '')
    const slash = rest.indexOf('/')
    const authority = slash === -1 ? rest : rest.slice(0, slash)
    const pathPart = slash === -1 ? '' : rest.slice(slash + 1).replace(/[?#].*$/, '')
    const at = authority.lastIndexOf('@')
    if (at !== -1) {
      const credentials = authority.slice(0, at)
      const colon = credentials.indexOf(':')
      const user = decodeURIComponent(colon === -1 ? credentials : credentials.slice(0, colon))
      const pass = colon === -1 ? '' : decodeURIComponent(credentials.slice(colon + 1))
      username = user || username
      password = pass || password
    }
    const hosts = at === -1 ? authority : authority.slice(at + 1)
    for (const hostPort of hosts.split(',').map((h) => h.trim())) {
      const match = /^(\[[0-9a-f:.]+\]|[A-Za-z0-9._-]+)(?::(\d{1,5}))?$/i.exec(hostPort)
      if (!match) throw new Error(`"${hostPort}" is not a host[:port]`)
      const port = Number(match[2] ?? 26379)
      if (port < 1 || port > 65_535) throw new Error(`port ${port} is out of range`)
      sentinels.push({ host: (match[1] as string).replace(/^\[|\]$/g, ''), port })
    }
    if (pathPart) {
      const segments = pathPart.split('/').filter(Boolean)
      if (segments.length > 2) throw new Error('the path must be /<master-name>[/db]')
      const [name, dbText] = segments
      if (name !== undefined) {
        if (!/^[A-Za-z0-9._-]{1,200}$/.test(name)) throw new Error(`"${name}" is not a valid master name`)
        masterName = name
      }
      if (dbText !== undefined) {
        if (!/^\d{1,2}$/.test(dbText)) throw new Error(`"${dbText}" is not a database number`)
        db = Number(dbText)
      }
    }
  }
  if (sentinels.length === 0) throw new Error('names no sentinel host')
  if (!masterName) throw new Error('names no master: add /<master-name> after the sentinel hosts')
  return { sentinels, masterName, db, ...(username ? { username } : {}), ...(password ? { password } : {}) }
}
