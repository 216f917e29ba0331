import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

export async function until(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not reached within ${timeoutMs / 1000} s`)
    await sleep(100)
  }
}

/** A temp dir PostgreSQL (running as `postgres`) can also enter; removed by the returned function. */
export function tempDir(name: string): { dir: string; remove(): void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `hotspot-${name}-`))
  fs.chmodSync(dir, 0o755)
  return { dir, remove: () => fs.rmSync(dir, { recursive: true, force: true }) }
}

/** Runs `body` repeatedly until `stop()` says so: one load-generating client. */
export async function loop(stop: () => boolean, body: () => Promise<void>): Promise<void> {
  while (!stop()) await body()
}
