/**
 * A clone of the project alone must build, start and pass its tests: nothing it ships or runs may reach
 * outside the repository into a `shared/` folder beside it (where the contract and fixtures once lived).
 */
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const root = fileURLToPath(new URL('../../', import.meta.url))

describe('the repository stands alone', () => {
  it('no tracked file refers to a shared folder outside the project', () => {
    const files = execFileSync('git', ['ls-files', '-z'], { cwd: root, encoding: 'utf8' })
      .split('\0')
      .filter((file) => file && !file.startsWith('test/fixtures/') && file !== 'package-lock.json')
    const offenders = files.filter((file) => {
      const path = `${root}${file}`
      if (!fs.existsSync(path) || fs.statSync(path).size > 1_000_000) return false
      return /\.\.\/(\.\.\/)*shared\//.test(fs.readFileSync(path, 'utf8'))
    })
    expect(offenders).toEqual([])
  })

  it('the contract and the Celery fixtures are in the project', () => {
    expect(fs.existsSync(`${root}docs/api.md`)).toBe(true)
    expect(fs.existsSync(`${root}test/fixtures/celery/README.md`)).toBe(true)
    expect(fs.readdirSync(`${root}test/fixtures/celery/fixtures`).length).toBeGreaterThan(10)
  })
})
