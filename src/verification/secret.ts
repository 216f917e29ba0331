import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'

/**
 * VERIFICATION_SECRET, else one generated on first use and kept (mode 600) in the data dir, like the admin
 * token. Resolved lazily, so processes that never handle a code never touch the data dir.
 */
export function secretResolver(configured: string | undefined, dataDir: string): () => string {
  let secret = configured
  return () => {
    secret ??= readOrCreate(path.join(dataDir, 'verification-secret'))
    return secret
  }
}

function readOrCreate(file: string): string {
  if (fs.existsSync(file)) return fs.readFileSync(file, 'utf8').trim()
  fs.mkdirSync(path.dirname(file), { recursive: true })
  const secret = randomBytes(32).toString('base64url')
  try {
    // wx: if another process created it meanwhile, use theirs (every process must hash alike).
    fs.writeFileSync(file, `${secret}\n`, { mode: 0o600, flag: 'wx' })
    return secret
  } catch (error) {
    if ((error as { code?: string }).code === 'EEXIST') return fs.readFileSync(file, 'utf8').trim()
    throw error
  }
}
