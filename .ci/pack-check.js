#!/usr/bin/env node
/**
 * The published package works on its own: `npm pack`, install the tarball into an empty directory, then
 * `npx hotspot --help` and `hotspot start` (private Redis and RabbitMQ) until /healthz answers 200 and / serves
 * the UI, then SIGTERM and a clean exit. Also checks that the package carries no sources and no tsx: it runs the
 * compiled dist/. Plain JS and no test runner: this is what a user's machine has. `npm run test:pack`.
 */
import { execFileSync, spawn } from 'node:child_process'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('../', import.meta.url))
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'hotspot-pack-'))
const app = path.join(work, 'app')
const say = (line) => process.stderr.write(`pack-check: ${line}\n`)

function sh(command, args, options = {}) {
  return execFileSync(command, args, { encoding: 'utf8', timeout: 300_000, ...options })
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer().once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address()
      server.close(() => resolve(port))
    })
  })
}

function check(ok, message) {
  if (!ok) throw new Error(message)
}

let child
try {
  const t0 = Date.now()
  // Built from the current sources (a no-op when fresh); the pack skips prepack's second, type-checking build.
  sh(process.execPath, [path.join(ROOT, 'scripts/build.js'), '--if-stale'], { cwd: ROOT, stdio: 'inherit' })
  const tarball = sh('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', work], {
    cwd: ROOT,
  }).trim()
  say(`packed ${tarball}`)

  fs.mkdirSync(app)
  fs.writeFileSync(path.join(app, 'package.json'), '{"private": true}\n')
  sh('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', path.join(work, tarball)], {
    cwd: app,
  })
  const installed = path.join(app, 'node_modules', 'hotspot')
  check(!fs.existsSync(path.join(installed, 'src')), 'the package ships src/')
  check(
    !fs.existsSync(path.join(app, 'node_modules', 'tsx')),
    'tsx was installed: it must be a devDependency',
  )
  check(fs.existsSync(path.join(installed, 'web', 'dist', 'index.html')), 'the package has no built UI')
  say(`installed in ${((Date.now() - t0) / 1000).toFixed(0)} s`)

  const help = sh('npx', ['--no-install', 'hotspot', '--help'], { cwd: app, timeout: 30_000 })
  check(/start/.test(help) && /migrate/.test(help), `npx hotspot --help printed:\n${help}`)

  const port = await freePort()
  const env = {
    ...process.env,
    PORT: String(port),
    GRPC_PORT: String(await freePort()),
    HOTSPOT_DATA_DIR: path.join(work, 'data'),
    LOG_LEVEL: 'warn',
  }
  for (const name of ['REDIS_URL', 'AMQP_URL', 'DATABASE_URL', 'HOTSPOT_ADMIN_TOKEN']) delete env[name]
  // The bin npx runs, started directly so SIGTERM reaches hotspot itself rather than npm.
  child = spawn(path.join(app, 'node_modules', '.bin', 'hotspot'), ['start'], {
    cwd: app,
    env,
    stdio: 'pipe',
  })
  let output = ''
  child.stdout.on('data', (d) => (output += d))
  child.stderr.on('data', (d) => (output += d))
  const exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)))

  const started = Date.now()
  let healthy = false
  while (!healthy && child.exitCode === null && Date.now() - started < 90_000) {
    const res = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(2000) }).catch(
      () => undefined,
    )
    healthy = res?.status === 200
    if (!healthy) await new Promise((r) => setTimeout(r, 250))
  }
  check(healthy, `hotspot start never answered /healthz:\n${output}`)
  say(`/healthz 200 after ${((Date.now() - started) / 1000).toFixed(1)} s`)
  // A page is served only to a browser asking for one (Accept: text/html); anything else unknown is the JSON 404.
  const page = await fetch(`http://127.0.0.1:${port}/`, {
    headers: { accept: 'text/html' },
    signal: AbortSignal.timeout(5000),
  })
  check(
    page.status === 200 && (await page.text()).includes('<div id="app">'),
    `GET / answered ${page.status}`,
  )

  child.kill('SIGTERM')
  const code = await Promise.race([exited, new Promise((r) => setTimeout(() => r('timeout'), 60_000))])
  check(code === 0, `hotspot start exited with ${code} after SIGTERM:\n${output}`)
  say(`ok in ${((Date.now() - t0) / 1000).toFixed(0)} s`)
} catch (error) {
  say(`FAILED: ${error instanceof Error ? error.message : String(error)}`)
  process.exitCode = 1
  if (child?.exitCode === null) {
    // SIGTERM first: hotspot stops its private servers on the way out, SIGKILL would leave them running.
    const gone = new Promise((r) => child.once('exit', r))
    child.kill('SIGTERM')
    await Promise.race([gone, new Promise((r) => setTimeout(r, 30_000))])
    child.kill('SIGKILL')
  }
} finally {
  fs.rmSync(work, { recursive: true, force: true })
}
