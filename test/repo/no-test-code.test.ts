/**
 * What ships (src/, compiled to dist/) carries no test code: nothing in it imports the test suite, the test
 * runner or the benches, and the test-only starters (PostgreSQL, Redis and RabbitMQ clusters) live in test/support.
 */
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const src = fileURLToPath(new URL('../../src/', import.meta.url))

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const file = path.join(dir, entry.name)
    if (entry.isDirectory()) return sources(file)
    return entry.name.endsWith('.ts') ? [file] : []
  })
}

describe('src/ holds no test code', () => {
  const files = sources(src).map((file) => ({ file, text: fs.readFileSync(file, 'utf8') }))

  it('imports neither test/, bench/ nor the test runner', () => {
    const offenders = files
      .filter(({ text }) => /from '(\.\.\/)+(test|bench)\/|from 'vitest|import\('vitest/.test(text))
      .map(({ file }) => path.relative(src, file))
    expect(offenders).toEqual([])
  })

  it('starts no PostgreSQL and no cluster: those starters are test support', () => {
    const offenders = files
      .filter(({ text }) =>
        /export (async )?function (startPostgres|startRedisCluster|startRabbitMQCluster)\b/.test(text),
      )
      .map(({ file }) => path.relative(src, file))
    expect(offenders).toEqual([])
  })
})
