/** Log format selection: LOG_FORMAT wins, else pretty on a terminal and JSON when stdout is a pipe or a file. */
import { execFileSync } from 'node:child_process'
import { describe, expect, it } from 'vitest'
import { loadConfig } from '../src/config.ts'
import { chooseLogFormat, type LogFormat } from '../src/infra/logger.ts'

/** What a logger of `format` writes to stdout (a pipe here) in a process of its own. */
function logLine(format: LogFormat): string {
  const script = `import { createLogger } from './src/infra/logger.ts'
createLogger('info', 'hotspot', '${format}').info({ user: { token: 'secret-token-value' } }, 'hello there')`
  return execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    env: { ...process.env, NO_COLOR: '1' },
  }).toString()
}

describe('log format', () => {
  it.each([
    [undefined, true, 'pretty'],
    [undefined, false, 'json'],
    ['json', true, 'json'],
    ['pretty', false, 'pretty'],
  ] as const)('LOG_FORMAT=%s, stdout a TTY: %s → %s', (configured, tty, expected) => {
    expect(chooseLogFormat(configured, tty)).toBe(expected)
  })

  it('LOG_FORMAT is read as pretty, json or unset (auto)', () => {
    expect(loadConfig({}).logFormat).toBeUndefined()
    expect(loadConfig({ LOG_FORMAT: 'pretty' }).logFormat).toBe('pretty')
    expect(loadConfig({ LOG_FORMAT: ' json ' }).logFormat).toBe('json')
  })

  it('json writes one JSON object per line, secrets redacted', () => {
    const line = JSON.parse(logLine('json').trim()) as Record<string, unknown>
    expect(line).toMatchObject({ msg: 'hello there', name: 'hotspot', user: { token: '[redacted]' } })
  })

  it('pretty writes a readable line (level, name, message), not JSON, secrets still redacted', () => {
    const out = logLine('pretty')
    expect(out).toMatch(/INFO.*\(hotspot\).*hello there/)
    expect(() => JSON.parse(out.split('\n')[0] ?? '')).toThrow()
    expect(out).toContain('[redacted]')
    expect(out).not.toContain('secret-token-value')
  })
})
