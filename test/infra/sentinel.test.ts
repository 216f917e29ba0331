import { spawn } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { checkSentinel } from '../../src/doctor/sentinel.ts'
import { freePort, type RunningServer, startRedis, terminate } from '../../src/infra/local-servers.ts'
import { createRedis, pingRedis, type RedisClient } from '../../src/infra/redis.ts'

// One master and one sentinel (no fail-over here): proves ioredis finds the master through the sentinel and that
// scripts and transactions work unchanged on a Sentinel connection.
describe('Redis through Sentinel', () => {
  let dir: string
  let master: RunningServer
  let sentinelPid = 0
  let port = 0
  let client: RedisClient

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hotspot-sentinel-'))
    master = await startRedis({ dir: path.join(dir, 'master') })
    const masterPort = new URL(master.url).port
    port = await freePort()
    const conf = path.join(dir, 'sentinel.conf')
    fs.writeFileSync(
      conf,
      [
        `port ${port}`,
        'bind 127.0.0.1',
        `dir ${dir}`,
        `sentinel monitor hs 127.0.0.1 ${masterPort} 1`,
        'sentinel down-after-milliseconds hs 1000',
        '',
      ].join('\n'),
    )
    const child = spawn('redis-server', [conf, '--sentinel'], { stdio: 'ignore' })
    sentinelPid = child.pid ?? 0
    client = createRedis(`redis+sentinel://127.0.0.1:${port}/hs`, { commandTimeoutMs: 2000 })
    for (let i = 0; i < 100 && !(await pingRedis(client)); i++) await new Promise((r) => setTimeout(r, 100))
  })

  afterAll(async () => {
    client?.disconnect()
    if (sentinelPid) await terminate(sentinelPid)
    await master?.stop()
    fs.rmSync(dir, { recursive: true, force: true })
  })

  it('reaches the master the sentinel names, runs a Lua script and a MULTI', async () => {
    expect(await pingRedis(client)).toBe(true)
    client.defineCommand('incrTwice', { numberOfKeys: 1, lua: "return redis.call('INCRBY', KEYS[1], 2)" })
    const run = (client as unknown as { incrTwice: (k: string) => Promise<number> }).incrTwice
    expect(await run.call(client, 'sentinel:test')).toBe(2)
    const result = await client.multi().incr('sentinel:test').get('sentinel:test').exec()
    expect(result?.map(([, value]) => value)).toEqual([3, '3'])
  })

  it('hotspot doctor calls one sentinel and no replica a problem', async () => {
    const checks = await checkSentinel(`redis+sentinel://127.0.0.1:${port}/hs`)
    expect(checks.find((c) => c.name === 'sentinel master')?.ok).toBe(true)
    const quorum = checks.find((c) => c.name === 'sentinel quorum')
    expect(quorum?.ok).toBe(false)
    expect(quorum?.detail).toMatch(/at least three sentinels.*nothing to promote/)
  })
})
