import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import { createRequire } from 'node:module'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Logger } from '../infra/logger.ts'

/** The Vue app's sources (same place from src/web/ and from the compiled dist/web/). */
export const WEB_DIR = fileURLToPath(new URL('../../web/', import.meta.url))
/** What Vite builds and the API process serves. */
export const DIST_DIR = path.join(WEB_DIR, 'dist')
/** Shared code the UI imports from the backend (SMS segmenting): a change there is a change of the UI too. */
const SHARED_SOURCES = [fileURLToPath(new URL('../sms/segment.ts', import.meta.url))]

export type BuildState = 'missing' | 'stale' | 'fresh'

function newestMtime(dir: string): number {
  let newest = 0
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (entry.name.startsWith('.') || entry.name === 'dist' || entry.name === 'node_modules') continue
    const full = path.join(dir, entry.name)
    const mtime = entry.isDirectory() ? newestMtime(full) : fs.statSync(full).mtimeMs
    if (mtime > newest) newest = mtime
  }
  return newest
}

/** Missing, older than a file of web/ (or the shared sources), or fresh. */
export function webBuildState(): BuildState {
  let built: number
  try {
    built = fs.statSync(path.join(DIST_DIR, 'index.html')).mtimeMs
  } catch {
    return 'missing'
  }
  let sources = newestMtime(WEB_DIR)
  for (const file of SHARED_SOURCES) {
    if (fs.existsSync(file)) sources = Math.max(sources, fs.statSync(file).mtimeMs)
  }
  return sources > built ? 'stale' : 'fresh'
}

function viteBin(): string | undefined {
  try {
    const require = createRequire(import.meta.url)
    const pkgPath = require.resolve('vite/package.json')
    const bin = (JSON.parse(fs.readFileSync(pkgPath, 'utf8')) as { bin: Record<string, string> }).bin.vite
    return bin && path.join(path.dirname(pkgPath), bin)
  } catch {
    return undefined // a production install without devDependencies: serve what was built
  }
}

function run(command: string, args: string[], cwd: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] })
    let stderr = ''
    child.stderr.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-4000)
    })
    child.once('error', reject)
    child.once('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`vite build exited with ${code}: ${stderr.trim()}`)),
    )
  })
}

/** A lock directory (mkdir is atomic) so processes starting together build once; stale after 2 minutes. */
async function withBuildLock<T>(fn: () => Promise<T>): Promise<T> {
  const key = createHash('sha256').update(WEB_DIR).digest('hex').slice(0, 12)
  const lock = path.join(os.tmpdir(), `hotspot-web-build-${key}.lock`)
  for (;;) {
    try {
      fs.mkdirSync(lock)
      break
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
      try {
        if (Date.now() - fs.statSync(lock).mtimeMs > 120_000)
          fs.rmSync(lock, { recursive: true, force: true })
      } catch {}
      await new Promise((r) => setTimeout(r, 200))
    }
  }
  try {
    return await fn()
  } finally {
    fs.rmSync(lock, { recursive: true, force: true })
  }
}

/**
 * Builds the UI with Vite into a fresh directory, then swaps it in: a process serving the old build never sees
 * a half-written one.
 */
export async function buildWeb(): Promise<void> {
  const bin = viteBin()
  if (!bin) throw new Error('vite is not installed (devDependencies): cannot build the web UI')
  const tmp = path.join(WEB_DIR, `.dist-${process.pid}-${Date.now()}`)
  try {
    await run(
      process.execPath,
      [bin, 'build', '--outDir', tmp, '--emptyOutDir', '--logLevel', 'warn'],
      WEB_DIR,
    )
    const old = path.join(WEB_DIR, `.dist-old-${process.pid}-${Date.now()}`)
    if (fs.existsSync(DIST_DIR)) fs.renameSync(DIST_DIR, old)
    fs.renameSync(tmp, DIST_DIR)
    fs.rmSync(old, { recursive: true, force: true })
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true })
  }
}

/** Builds the UI when web/dist is missing or older than its sources. Never throws: the API runs without it. */
export async function ensureWebBuild(log: Logger): Promise<BuildState | 'built' | 'failed'> {
  try {
    if (webBuildState() === 'fresh') return 'fresh'
    return await withBuildLock(async () => {
      const state = webBuildState() // another process may have built it while we waited
      if (state === 'fresh') return 'fresh'
      if (!viteBin()) {
        log.warn({ state }, 'web UI build is %s and vite is not installed: run `npm run build`', state)
        return state
      }
      const started = Date.now()
      await buildWeb()
      log.info({ ms: Date.now() - started }, 'web UI built')
      return 'built'
    })
  } catch (error) {
    log.error({ err: error }, 'web UI build failed')
    return 'failed'
  }
}
