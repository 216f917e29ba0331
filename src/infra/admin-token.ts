import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { ConfigError } from '../config.ts'

/** As HOTSPOT_ADMIN_TOKEN: a shorter token is guessable. */
const MIN_LENGTH = 16

/** HOTSPOT_ADMIN_TOKEN, else the one generated on first start and kept (mode 600) in the data dir. */
export function resolveAdminToken(
  configured: string | undefined,
  dataDir: string,
): { token: string; created: boolean } {
  if (configured) return { token: configured, created: false }
  const file = path.join(dataDir, 'admin-token')
  const existing = readTokenFile(file)
  if (existing !== undefined) return { token: existing, created: false }
  const token = randomBytes(24).toString('base64url')
  fs.mkdirSync(dataDir, { recursive: true })
  // Written whole under a name of its own, then linked into place: link() fails when the name exists, so of
  // processes started together exactly one token wins, and no process ever reads a half-written file.
  const draft = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`
  fs.writeFileSync(draft, `${token}\n`, { mode: 0o600 })
  try {
    fs.linkSync(draft, file)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
    return { token: readTokenFile(file) as string, created: false }
  } finally {
    fs.rmSync(draft, { force: true })
  }
  return { token, created: true }
}

/** The token in the file; undefined when there is no file; an empty or short one is refused, never used. */
function readTokenFile(file: string): string | undefined {
  let raw: string
  try {
    raw = fs.readFileSync(file, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw error
  }
  const token = raw.trim()
  if (token.length < MIN_LENGTH) {
    throw new ConfigError(
      'HOTSPOT_ADMIN_TOKEN',
      `${file} holds ${token === '' ? 'no token' : 'a token shorter than 16 characters'}: write one of ${MIN_LENGTH}+ ` +
        'characters into it, or delete it to have one generated',
    )
  }
  return token
}
