#!/usr/bin/env node
// Runs the compiled dist/. In a checkout (src/ present) it first compiles, once, when dist/ is missing or older
// than the sources; a package from npm ships dist/ and web/dist/ built.
import { existsSync } from 'node:fs'

if (existsSync(new URL('../src/cli.ts', import.meta.url))) {
  const { ensureBuilt } = await import('../scripts/build.js')
  try {
    await ensureBuilt()
  } catch (error) {
    process.stderr.write(
      `\nhotspot: could not build: ${error instanceof Error ? error.message : String(error)}\n`,
    )
    process.exit(1)
  }
}
await import('../dist/cli.js')
