/**
 * Compiles a checkout: the server (src/ → dist/, tsc) and the web UI (web/ → web/dist/, Vite).
 *   node scripts/build.js             `npm run build`: type-checks the server and the UI, then compiles both
 *   node scripts/build.js --if-stale  what `hotspot` runs in a checkout before starting: compiles (no type check,
 *                                     that is lint's job) only when dist/ is missing or older than the sources
 * Both write into temp dirs and swap them in, under a lock, so processes starting together build once and a
 * running process never reads a half-written build. Plain JS: it runs before anything is compiled.
 */
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('../', import.meta.url))
const WEB = path.join(ROOT, 'web')
const DIST = path.join(ROOT, 'dist')
const WEB_DIST = path.join(WEB, 'dist')
/** Written last, dated when the build started: a source saved during a build makes the next start rebuild. */
const STAMP = '.built'
/** What a build reads: any of these newer than the stamp means the build is stale. */
const SOURCES = ['src', 'web', 'tsconfig.json', 'tsconfig.build.json', 'scripts/build.js']
const SKIP = new Set(['dist', 'node_modules'])

/** A directory's own mtime counts (a file deleted), except web/'s: the build swaps web/dist inside it. */
function newestMtime(file) {
  const stat = fs.statSync(file, { throwIfNoEntry: false })
  if (!stat) return 0
  if (!stat.isDirectory()) return stat.mtimeMs
  let newest = file === WEB ? 0 : stat.mtimeMs
  for (const entry of fs.readdirSync(file)) {
    if (entry.startsWith('.') || SKIP.has(entry)) continue
    newest = Math.max(newest, newestMtime(path.join(file, entry)))
  }
  return newest
}

/** 'missing', 'stale' (a source is newer than the build) or 'fresh'. */
export function buildState() {
  const built = fs.statSync(path.join(DIST, STAMP), { throwIfNoEntry: false })?.mtimeMs
  if (built === undefined || !fs.existsSync(path.join(WEB_DIST, 'index.html'))) return 'missing'
  return Math.max(...SOURCES.map((s) => newestMtime(path.join(ROOT, s)))) > built ? 'stale' : 'fresh'
}

/**
 * A devDependency's command, run with this node; its output shown only when it fails. Asynchronous on purpose:
 * while it runs, proper-lockfile must keep refreshing the build lock, or a compile longer than `stale` (a loaded
 * machine) lets a second process take the lock and delete this one's half-written output.
 */
async function run(pkg, bin, args, env = process.env) {
  const require = createRequire(import.meta.url)
  let script
  try {
    const manifest = require.resolve(`${pkg}/package.json`)
    const bins = JSON.parse(fs.readFileSync(manifest, 'utf8')).bin
    script = path.join(path.dirname(manifest), typeof bins === 'string' ? bins : bins[bin])
  } catch {
    throw new Error(`${pkg} is not installed: run \`npm ci\` (the build needs the devDependencies)`)
  }
  const child = spawn(process.execPath, [script, ...args], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout.on('data', (d) => {
    output += d
  })
  child.stderr.on('data', (d) => {
    output += d
  })
  const status = await new Promise((resolve, reject) => {
    child.once('error', reject)
    child.once('close', resolve)
  })
  if (status !== 0) throw new Error(`${bin} ${args.join(' ')} failed:\n${output.trim()}`)
}

/** What compiled code reads from disk next to itself (Lua scripts): tsc copies none of it. */
function copyAssets(from, to) {
  for (const entry of fs.readdirSync(from, { withFileTypes: true })) {
    const source = path.join(from, entry.name)
    if (entry.isDirectory()) copyAssets(source, path.join(to, entry.name))
    else if (entry.name.endsWith('.lua')) {
      fs.mkdirSync(to, { recursive: true })
      fs.copyFileSync(source, path.join(to, entry.name))
    }
  }
}

/** `from` becomes `to` in two renames: a reader sees the old build or the new one, never a mix. */
function swap(from, to) {
  const old = `${from}-old`
  if (fs.existsSync(to)) fs.renameSync(to, old)
  fs.renameSync(from, to)
  fs.rmSync(old, { recursive: true, force: true })
}

/** Temp output of builds that never finished (a process killed mid-build). Called with the lock held. */
function removeLeftovers() {
  for (const dir of [ROOT, WEB]) {
    for (const name of fs.readdirSync(dir)) {
      if (name.startsWith('.dist-')) fs.rmSync(path.join(dir, name), { recursive: true, force: true })
    }
  }
}

async function compile({ check }) {
  const started = new Date()
  removeLeftovers()
  // Temp dirs at the same depth as dist/ and web/dist/, so the relative paths in source maps stay right.
  const server = path.join(ROOT, `.dist-${process.pid}`)
  const ui = path.join(WEB, `.dist-${process.pid}`)
  try {
    await run('typescript', 'tsc', [
      '-p',
      'tsconfig.build.json',
      '--outDir',
      server,
      ...(check ? [] : ['--noCheck']),
    ])
    copyAssets(path.join(ROOT, 'src'), server)
    if (check) await run('vue-tsc', 'vue-tsc', ['-p', 'web/tsconfig.json', '--noEmit'])
    // NODE_ENV=production whatever the caller runs under (vitest sets `test`): Vite would otherwise ship Vue's
    // development build, twice the size and slower.
    const env = { ...process.env, NODE_ENV: 'production' }
    await run('vite', 'vite', ['build', 'web', '--outDir', ui, '--emptyOutDir', '--logLevel', 'warn'], env)
    fs.writeFileSync(path.join(server, STAMP), '')
    fs.utimesSync(path.join(server, STAMP), started, started)
    swap(ui, WEB_DIST)
    swap(server, DIST)
  } finally {
    fs.rmSync(server, { recursive: true, force: true })
    fs.rmSync(ui, { recursive: true, force: true })
  }
}

/** Holds an inter-process lock (proper-lockfile: a lock whose holder died goes stale and is taken over). */
async function withLock(fn) {
  const { default: lockfile } = await import('proper-lockfile')
  const release = await lockfile.lock(ROOT, {
    lockfilePath: path.join(ROOT, '.build.lock'),
    stale: 30_000,
    retries: { retries: 3000, factor: 1, minTimeout: 100, maxTimeout: 100 }, // a build takes seconds, not 5 min
  })
  try {
    return await fn()
  } finally {
    await release()
  }
}

/** `npm run build`: type-check and compile, whatever the state. */
export function build() {
  return withLock(() => compile({ check: true }))
}

/** Compiles when missing or stale, saying so on one line of stderr; a no-op when fresh. */
export async function ensureBuilt(say = (text) => process.stderr.write(text)) {
  const state = buildState()
  if (state === 'fresh') return 'fresh'
  const started = Date.now()
  say(`hotspot: building dist/ and web/dist/ (${state === 'missing' ? 'not built yet' : 'sources changed'})…`)
  // Another process may have built it while this one waited for the lock.
  const result = await withLock(async () => {
    if (buildState() === 'fresh') return 'fresh'
    await compile({ check: false })
    return 'built'
  })
  say(
    result === 'built'
      ? ` done in ${((Date.now() - started) / 1000).toFixed(1)} s\n`
      : ' built by another process\n',
  )
  return result
}

if (process.argv[1] && fs.realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const ifStale = process.argv.includes('--if-stale')
  ;(ifStale ? ensureBuilt() : build()).catch((error) => {
    process.stderr.write(`\nbuild failed: ${error instanceof Error ? error.message : String(error)}\n`)
    process.exit(1)
  })
}
