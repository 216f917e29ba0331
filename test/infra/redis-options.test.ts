import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { redisOptions } from '../../src/infra/redis.ts'

describe('Redis connection options', () => {
  it('keeps TLS and its options for every node of a rediss:// cluster list, with the decoded credentials', () => {
    const ca = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'hs-tls-')), 'ca.pem')
    fs.writeFileSync(ca, 'PEM')
    const built = redisOptions([
      `rediss://app:p%40ss@a.example:7000?servername=redis.example&ca=${ca}`,
      'rediss://app:p%40ss@b.example:7001',
    ])
    if (!('nodes' in built)) throw new Error('expected cluster options')
    expect(built.nodes).toEqual([
      { host: 'a.example', port: 7000 },
      { host: 'b.example', port: 7001 },
    ])
    // redisOptions is what ioredis uses for the start-up nodes and for every node it discovers.
    expect(built.options.redisOptions).toMatchObject({
      username: 'app',
      password: 'p@ss',
      tls: { servername: 'redis.example', ca: Buffer.from('PEM') },
      commandTimeout: 3000,
    })
    // Names are connected to as given, so the certificate's host name check holds.
    const lookup = built.options.dnsLookup
    let resolved = ''
    lookup?.('a.example', (_e, address) => {
      resolved = address
    })
    expect(resolved).toBe('a.example')
  })

  it('stays plaintext for redis:// lists and refuses a list mixing redis:// and rediss://', () => {
    const built = redisOptions(['redis://:pw@a:7000', 'redis://:pw@b:7001'], { commandTimeoutMs: 1500 })
    if (!('nodes' in built)) throw new Error('expected cluster options')
    expect(built.options.redisOptions?.tls).toBeUndefined()
    expect(built.options.redisOptions).toMatchObject({
      password: 'pw',
      commandTimeout: 1500,
      maxRetriesPerRequest: 1,
    })
    expect(() => redisOptions(['rediss://a:7000', 'redis://b:7001'])).toThrow(/same scheme/)
  })

  it('gives a single rediss:// node the same TLS options', () => {
    const built = redisOptions(['rediss://h:6380?rejectUnauthorized=false&servername=s'])
    expect('nodes' in built).toBe(false)
    expect(built.options).toMatchObject({
      tls: { rejectUnauthorized: false, servername: 's' },
      commandTimeout: 3000,
    })
  })
})
