/**
 * `hotspot` in a checkout compiles a stale build under an inter-process lock (scripts/build.js). The lock goes
 * stale unless its holder keeps refreshing it, which needs a free event loop: a compile that blocked it (as
 * spawnSync did) for longer than the stale time on a loaded machine let a second process take the lock and
 * delete the first one's half-written output, and a partial dist/ was swapped in.
 */
import fs from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const buildScript = fileURLToPath(new URL('../../scripts/build.js', import.meta.url))

describe('the build in a checkout', () => {
  it('keeps the event loop free while it compiles, so the lock stays fresh', async () => {
    const { ensureBuilt } = await import(buildScript)
    const now = new Date()
    fs.utimesSync(buildScript, now, now) // a source newer than the build: the next start rebuilds
    let ticks = 0
    const ticking = setInterval(() => ticks++, 100)
    try {
      expect(await ensureBuilt(() => {})).toMatch(/^(built|fresh)$/)
    } finally {
      clearInterval(ticking)
    }
    expect(ticks).toBeGreaterThan(3) // a compile takes seconds: a blocked loop would not have ticked once
    expect(fs.existsSync(fileURLToPath(new URL('../../dist/config.js', import.meta.url)))).toBe(true)
  }, 300_000)
})
