#!/usr/bin/env node
// `npm run bench -- <name>`: runs bench/<name>.ts (see bench/README.md).
import { existsSync, readdirSync } from 'node:fs'

const name = process.argv[2]
const dir = new URL('../bench/', import.meta.url)
const available = readdirSync(dir)
  .filter((f) => f.endsWith('.ts') && !f.startsWith('lib'))
  .map((f) => f.replace(/\.ts$/, ''))
if (!name || !existsSync(new URL(`${name}.ts`, dir))) {
  process.stderr.write(`usage: npm run bench -- <${available.join('|')}>\n`)
  process.exit(2)
}
const { register } = await import('tsx/esm/api')
register()
await import(new URL(`${name}.ts`, dir).href)
