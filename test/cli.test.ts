/**
 * `hotspot api` as a real process: what start-up prints. A generated admin token is kept in the data dir and
 * never printed (start-up output ends up in logs), and SIGTERM stops the process cleanly.
 */
import { spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, inject, it } from 'vitest'
import { freePort } from '../src/infra/local-servers.ts'
import { onCluster } from './support/app.ts'

describe('hotspot api (process)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hotspot-cli-'))
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

  it('prints where the generated admin token is, never the token; SIGTERM exits 0', async () => {
    const prefix = `c${randomUUID().slice(0, 8)}`
    const { HOTSPOT_ADMIN_TOKEN: _unset, ...env } = process.env
    const child = spawn(process.execPath, ['bin/hotspot.js', 'api'], {
      env: {
        ...env,
        REDIS_URL: inject('redisUrl'),
        AMQP_URL: inject('amqpUrl'),
        ...(onCluster ? { AMQP_QUEUE_TYPE: 'quorum' } : {}),
        DATABASE_URL: path.join(dir, 'cli.db'),
        HOTSPOT_DATA_DIR: dir,
        HOTSPOT_KEY_PREFIX: prefix,
        CELERY_DEFAULT_QUEUE: `${prefix}.celery`,
        HOTSPOT_TASK_QUEUE: `${prefix}.hotspot`,
        PORT: String(await freePort()),
        LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let output = ''
    child.stdout.on('data', (d: Buffer) => {
      output += d.toString()
    })
    child.stderr.on('data', (d: Buffer) => {
      output += d.toString()
    })
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve))
    const deadline = Date.now() + 90_000
    while (!output.includes('ready on') && child.exitCode === null && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100))
    }
    expect(output).toContain('ready on')

    const token = fs.readFileSync(path.join(dir, 'admin-token'), 'utf8').trim()
    expect(token.length).toBeGreaterThanOrEqual(32)
    expect(output).toContain(`cat ${path.join(dir, 'admin-token')}`)
    expect(output).not.toContain(token)

    child.kill('SIGTERM')
    expect(await exited).toBe(0)
    expect(output).not.toContain(token)
  }, 120_000)
})
