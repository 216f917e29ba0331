import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'

/** HOTSPOT_ADMIN_TOKEN, else the one generated on first start and kept (mode 600) in the data dir. */
export function resolveAdminToken(
  configured: string | undefined,
  dataDir: string,
): { token: string; created: boolean } {
  if (configured) return { token: configured, created: false }
  const file = path.join(dataDir, 'admin-token')
  if (fs.existsSync(file)) return { token: fs.readFileSync(file, 'utf8').trim(), created: false }
  const token = randomBytes(24).toString('base64url')
  fs.mkdirSync(dataDir, { recursive: true })
  fs.writeFileSync(file, `${token}\n`, { mode: 0o600 })
  return { token, created: true }
}
