import { type ChildProcess, spawn } from 'node:child_process'
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

/** The vite child of a build in progress, so stopping the process does not leave it running alone. */
let building: ChildProcess | undefined

function run(command: string, args: string[], cwd: string): Promise<void> {
  return new Promise((resolve, reject) => {
    // NODE_ENV=production whatever the caller runs under (vitest sets `test`): Vite would otherwise ship Vue's
    // development build, twice the size and slower.
    const env = { ...process.env, NODE_ENV: 'production' }
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'ignore', 'pipe'] })
    building = child
    let stderr = ''
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-4000)
    })
    child.once('error', reject)
    child.once('exit', (code, signal) => {
      building = undefined
      if (code === 0) resolve()
      else
        reject(
          new Error(
            `vite build ${signal ? `was stopped (${signal})` : `exited with ${code}`}: ${stderr.trim()}`,
          ),
        )
    })
  })
}

/** Stops a build this process started (on shutdown); the previous build stays in place. */
export function cancelWebBuild(): void {
  building?.kill('SIGTERM')
}

/** Temp output of builds that never finished (a process killed mid-build). Call with the lock held. */
function removeLeftovers() {
  for (const name of fs.readdirSync(WEB_DIR)) {
    if (name.startsWith('.dist-')) fs.rmSync(path.join(WEB_DIR, name), { recursive: true, force: true })
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * A lock directory (mkdir is atomic) holding the owner's pid, so processes starting together build once; a lock
 * whose owner died (a test worker killed mid-build) is taken over at once.
 */
async function withBuildLock<T>(fn: () => Promise<T>): Promise<T> {
  const key = createHash('sha256').update(WEB_DIR).digest('hex').slice(0, 12)
  const lock = path.join(os.tmpdir(), `hotspot-web-build-${key}.lock`)
  for (;;) {
    try {
      fs.mkdirSync(lock)
      fs.writeFileSync(path.join(lock, 'pid'), String(process.pid))
      break
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
      try {
        const owner = Number(fs.readFileSync(path.join(lock, 'pid'), 'utf8'))
        if (!alive(owner)) fs.rmSync(lock, { recursive: true, force: true })
      } catch {
        // No pid yet: the owner is writing it, unless the lock is old.
        if (Date.now() - (fs.statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? 0) > 5000)
          fs.rmSync(lock, { recursive: true, force: true })
      }
      await new Promise((r) => setTimeout(r, 100))
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
 * a half-written one. Holds the build lock, so processes starting together never swap at the same time.
 */
export function buildWeb(options: { onlyIfStale?: boolean } = {}): Promise<'built' | 'fresh'> {
  const bin = viteBin()
  if (!bin)
    return Promise.reject(new Error('vite is not installed (devDependencies): cannot build the web UI'))
  return withBuildLock(async () => {
    // Another process may have built it while this one waited for the lock.
    if (options.onlyIfStale && webBuildState() === 'fresh') return 'fresh'
    removeLeftovers()
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
      return 'built'
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true })
    }
  })
}

/** Builds the UI when web/dist is missing or older than its sources. Never throws: the API runs without it. */
export async function ensureWebBuild(log: Logger): Promise<BuildState | 'built' | 'failed'> {
  try {
    const state = webBuildState()
    if (state === 'fresh') return 'fresh'
    if (!viteBin()) {
      log.warn({ state }, 'web UI build is %s and vite is not installed: run `npm run build`', state)
      return state
    }
    const started = Date.now()
    log.info({ state }, 'building the web UI')
    const result = await buildWeb({ onlyIfStale: true })
    if (result === 'built') log.info({ ms: Date.now() - started }, 'web UI built')
    return result
  } catch (error) {
    log.error({ err: error }, 'web UI build failed')
    return 'failed'
  }
}
