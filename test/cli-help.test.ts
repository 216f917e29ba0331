/**
 * The command line as a user meets it, by spawning `bin/hotspot.js`: help for the program and for every
 * command lists its options and the variables it reads and never starts anything; a command line that does not
 * parse prints usage and exits 2.
 */
import { execFile } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { varsReadByConfig } from '../src/cli/env-vars.ts'

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hotspot-help-'))
/** A data dir that help must never create (private servers, SQLite and secrets would live there). */
const dataDir = path.join(dir, 'data')

function hotspot(...args: string[]) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    // An unreachable Redis/RabbitMQ: a command that started anything would hang or fail, not print help.
    const env = {
      ...process.env,
      HOTSPOT_DATA_DIR: dataDir,
      REDIS_URL: 'redis://127.0.0.1:1',
      AMQP_URL: 'amqp://127.0.0.1:1',
    }
    execFile(
      process.execPath,
      ['bin/hotspot.js', ...args],
      { env, timeout: 60_000 },
      (error, stdout, stderr) =>
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr }),
    )
  })
}

describe('hotspot --help', () => {
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

  it('lists every command and the common variables; no command at all prints the same', async () => {
    // The first spawn may compile dist/ (bin/hotspot.js builds a stale checkout once): run it alone.
    const help = await hotspot('--help')
    expect(help.code).toBe(0)
    for (const command of [
      'start',
      'api',
      'worker',
      'beat',
      'grpc',
      'migrate',
      'doctor',
      'tasks',
      'seckill',
      'inspect',
      'control',
    ])
      expect(help.stdout).toMatch(new RegExp(`^  ${command}\\b`, 'm'))
    for (const name of ['REDIS_URL', 'AMQP_URL', 'DATABASE_URL', 'HOTSPOT_DATA_DIR', 'LOG_FORMAT'])
      expect(help.stdout).toContain(name)
    const bare = await hotspot()
    expect(bare.code).toBe(0)
    expect(bare.stdout).toBe(help.stdout)
  }, 120_000)

  it('each command lists its options and variables and starts nothing', async () => {
    const [start, api, worker, beat, grpc, migrate, doctor, replay, reconcile, control] = await Promise.all([
      hotspot('start', '--help'),
      hotspot('api', '--help'),
      hotspot('worker', '--help'),
      hotspot('beat', '--help'),
      hotspot('grpc', '--help'),
      hotspot('help', 'migrate'),
      hotspot('doctor', '--help'),
      hotspot('tasks', 'replay', '--help'),
      hotspot('seckill', 'reconcile', '--help'),
      hotspot('control', '--help'),
    ])
    for (const r of [start, api, worker, beat, grpc, migrate, doctor, replay, reconcile, control]) {
      expect(r.code).toBe(0)
      expect(r.stdout).toMatch(/^Usage: hotspot /)
    }
    // `start` runs everything: it lists every variable the configuration reads.
    for (const name of varsReadByConfig()) expect(start.stdout).toContain(name)
    expect(api.stdout).toContain('--workers <n>')
    expect(api.stdout).toContain('PORT')
    expect(worker.stdout).toContain('WORKER_CONCURRENCY')
    expect(worker.stdout).toContain('SMS_PROVIDER')
    expect(beat.stdout).toContain('BEAT_LOCK_TTL_MS')
    expect(grpc.stdout).toContain('GRPC_PORT')
    expect(migrate.stdout).toContain('DATABASE_URL')
    expect(doctor.stdout).toContain('REDIS_URL')
    expect(replay.stdout).toContain('--all')
    expect(reconcile.stdout).toContain('[product-id]')
    expect(control.stdout).toContain('--destination')
    expect(control.stdout).toContain('rate_limit')
    expect(fs.existsSync(dataDir)).toBe(false)
  }, 120_000)

  it('an unknown command or option, or a bad argument, prints usage and exits 2', async () => {
    const results = await Promise.all([
      hotspot('bogus'),
      hotspot('start', '--bogus'),
      hotspot('api', '--workers', '0'),
      hotspot('tasks', 'replay'),
      hotspot('tasks', 'replay', 'some-id', '--all'),
      hotspot('seckill', 'reconcile', 'x'),
      hotspot('tasks'),
    ])
    for (const r of results) {
      expect(r.code).toBe(2)
      expect(r.stderr).toContain('Usage: hotspot')
    }
    expect(results[0]?.stderr).toContain("unknown command 'bogus'")
    expect(results[1]?.stderr).toContain("unknown option '--bogus'")
    expect(fs.existsSync(dataDir)).toBe(false)
  }, 120_000)
})
