import { execFile } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { ConfigError } from '../../src/config.ts'
import { resolveAdminToken } from '../../src/infra/admin-token.ts'

const run = promisify(execFile)
const CHILD = path.resolve('test/infra/admin-token-child.ts')
const tempDir = () => fs.mkdtempSync(path.join(os.tmpdir(), 'hotspot-token-'))

describe('admin token file', () => {
  it.each([
    ['empty', ''],
    ['whitespace only', ' \n\t\n'],
    ['too short', 'short\n'],
  ])('is refused when %s, naming the file', (_name, content) => {
    const dir = tempDir()
    fs.writeFileSync(path.join(dir, 'admin-token'), content)
    let error: unknown
    try {
      resolveAdminToken(undefined, dir)
    } catch (caught) {
      error = caught
    }
    expect(error).toBeInstanceOf(ConfigError)
    expect((error as Error).message).toContain(path.join(dir, 'admin-token'))
    // Left as it was: the operator decides what goes in it.
    expect(fs.readFileSync(path.join(dir, 'admin-token'), 'utf8')).toBe(content)
  })

  it('is generated once (mode 600) and read back on the next start', () => {
    const dir = tempDir()
    const first = resolveAdminToken(undefined, dir)
    expect(first.created).toBe(true)
    expect(first.token.length).toBeGreaterThanOrEqual(32)
    expect(fs.statSync(path.join(dir, 'admin-token')).mode & 0o777).toBe(0o600)
    expect(resolveAdminToken(undefined, dir)).toEqual({ token: first.token, created: false })
    expect(fs.readdirSync(dir)).toEqual(['admin-token']) // no temp file left behind
  })

  it('processes started together all end with the same generated token', async () => {
    const processes = 4
    const rounds = 4
    for (let round = 0; round < rounds; round++) {
      const dir = tempDir()
      // Far enough ahead that every child has loaded its code before the instant comes.
      const startAt = String(Date.now() + 3000)
      const tokens = await Promise.all(
        Array.from({ length: processes }, async () => {
          const { stdout } = await run(process.execPath, ['--import', 'tsx', CHILD, dir, startAt], {
            timeout: 30_000,
          })
          return stdout
        }),
      )
      const onDisk = fs.readFileSync(path.join(dir, 'admin-token'), 'utf8').trim()
      expect(new Set(tokens)).toEqual(new Set([onDisk]))
    }
  }, 120_000)
})
