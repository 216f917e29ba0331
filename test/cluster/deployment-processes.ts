/**
 * Real `hotspot` processes for the deployment test: spawned with one shared environment, their output kept for
 * assertions (pino JSON lines on stdout) and diagnostics (stderr), and all of them stopped afterwards.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { sleep, until } from './support.ts'

export interface HotspotProcess {
  name: string
  child: ChildProcess
  /** Everything written so far (stdout: JSON log lines; stderr: `hotspot: …` lines and crashes). */
  stdout: string
  stderr: string
  /** Parsed log lines whose `msg` is `msg`. */
  logged(msg: string): Record<string, unknown>[]
  alive(): boolean
}

export function spawnHotspot(name: string, args: string[], env: Record<string, string>): HotspotProcess {
  const child = spawn(process.execPath, ['bin/hotspot.js', ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const proc: HotspotProcess = {
    name,
    child,
    stdout: '',
    stderr: '',
    logged(msg) {
      const found: Record<string, unknown>[] = []
      for (const line of proc.stdout.split('\n')) {
        if (!line.includes(`"msg":"${msg}"`)) continue
        try {
          found.push(JSON.parse(line) as Record<string, unknown>)
        } catch {
          // a line still being written
        }
      }
      return found
    },
    alive: () => child.exitCode === null && child.signalCode === null,
  }
  child.stdout?.on('data', (d: Buffer) => {
    proc.stdout += d.toString()
  })
  child.stderr?.on('data', (d: Buffer) => {
    proc.stderr += d.toString()
  })
  return proc
}

/** Waits for a line on stderr; fails early, with the process's output, if it exits first. */
export async function waitForLine(proc: HotspotProcess, text: string, timeoutMs: number): Promise<void> {
  await until(
    `${proc.name}: "${text}"`,
    async () => {
      if (!proc.alive()) throw new Error(`${proc.name} exited before "${text}":\n${diagnostics([proc])}`)
      return proc.stderr.includes(text)
    },
    timeoutMs,
  )
}

/** Runs a one-shot command (e.g. `migrate`) to its end; rejects with its output unless it exits 0. */
export async function runHotspot(
  name: string,
  args: string[],
  env: Record<string, string>,
  timeoutMs: number,
): Promise<HotspotProcess> {
  const proc = spawnHotspot(name, args, env)
  const code = await new Promise<number | null>((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.child.kill('SIGKILL')
      reject(new Error(`${name} did not finish within ${timeoutMs / 1000} s:\n${diagnostics([proc])}`))
    }, timeoutMs)
    proc.child.once('exit', (c) => {
      clearTimeout(timer)
      resolve(c)
    })
  })
  if (code !== 0) {
    throw new Error(`${name} exited with ${code}:\n${proc.stdout.slice(-3000)}\n${diagnostics([proc])}`)
  }
  return proc
}

/** SIGTERM to every live process, SIGKILL to any still running after `graceMs`. */
export async function stopAll(procs: HotspotProcess[], graceMs = 15_000): Promise<void> {
  const running = procs.filter((p) => p.alive())
  const exited = running.map((p) => new Promise<void>((resolve) => p.child.once('exit', () => resolve())))
  for (const p of running) p.child.kill('SIGTERM')
  await Promise.race([Promise.all(exited), sleep(graceMs)])
  for (const p of running) if (p.alive()) p.child.kill('SIGKILL')
  await Promise.all(exited)
}

/** The last lines each process wrote to stderr (and any warning or error it logged), for a failing test. */
export function diagnostics(procs: HotspotProcess[]): string {
  return procs
    .map((p) => {
      const errors = p.stdout
        .split('\n')
        .filter((l) => /"level":(40|50|60)/.test(l))
        .slice(-10)
      const tail = p.stderr.split('\n').slice(-15)
      return `--- ${p.name} (exit ${p.child.exitCode ?? p.child.signalCode ?? 'running'})\n${[...tail, ...errors].join('\n')}`
    })
    .join('\n')
}
