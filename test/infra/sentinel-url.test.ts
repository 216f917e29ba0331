import { describe, expect, it } from 'vitest'
import { ConfigError, loadConfig, redactUrl } from '../../src/config.ts'
import { sentinelOptions } from '../../src/infra/redis.ts'
import { parseSentinelUrl } from '../../src/infra/sentinel-url.ts'

describe('Sentinel REDIS_URL', () => {
  it('reads hosts, password, master name and db of the redis+sentinel:// spelling', () => {
    expect(parseSentinelUrl('redis+sentinel://:s%40cret@h1:26379,h2:26380,[::1]/mymaster/2')).toEqual({
      sentinels: [
        { host: 'h1', port: 26379 },
        { host: 'h2', port: 26380 },
        { host: '::1', port: 26379 },
      ],
      masterName: 'mymaster',
      db: 2,
      password: 's@cret',
    })
  })

  it("reads Celery's sentinel://…;sentinel://… spelling", () => {
    const target = parseSentinelUrl('sentinel://:pw@h1:26379;sentinel://:pw@h2:26379/mymaster')
    expect(target.sentinels).toEqual([
      { host: 'h1', port: 26379 },
      { host: 'h2', port: 26379 },
    ])
    expect(target).toMatchObject({ masterName: 'mymaster', db: 0, password: 'pw' })
  })

  it.each([
    ['redis+sentinel://h1:26379', /names no master/],
    ['redis+sentinel://h1:99999/m', /out of range/],
    ['redis+sentinel://h 1:26379/m', /not a host/],
    ['redis+sentinel://h1/m/x', /not a database number/],
    ['redis+sentinel://h1/m/0/extra', /\/<master-name>\[\/db\]/],
    ['redis+sentinel://h1/bad name', /not a valid master name/],
  ])('rejects %s with a clear error', (url, message) => {
    expect(() => parseSentinelUrl(url)).toThrow(message)
  })

  it('loadConfig accepts a sentinel URL and reports a bad one without its password', () => {
    const good = 'redis+sentinel://:pw@h1:26379,h2:26379/mymaster'
    expect(loadConfig({ REDIS_URL: good }).redisUrl).toBe(good)
    let error: unknown
    try {
      loadConfig({ REDIS_URL: 'sentinel://:topsecret@h1:26379' })
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(ConfigError)
    expect(String((error as Error).message)).toMatch(/names no master/)
    expect(String((error as Error).message)).not.toContain('topsecret')
    expect(redactUrl(good)).not.toContain('pw')
  })

  it('builds ioredis Sentinel options with the command timeout and fail-fast retries', () => {
    const options = sentinelOptions('redis+sentinel://:pw@h1:26379/m/1', { commandTimeoutMs: 1500 })
    expect(options).toMatchObject({
      sentinels: [{ host: 'h1', port: 26379 }],
      name: 'm',
      db: 1,
      password: 'pw',
      sentinelPassword: 'pw',
      commandTimeout: 1500,
      maxRetriesPerRequest: 1,
    })
  })
})
