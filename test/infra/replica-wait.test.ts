import { describe, expect, it } from 'vitest'
import { ConfigError, loadConfig } from '../../src/config.ts'
import { startTestApp } from '../support/app.ts'

describe('REDIS_WAIT_REPLICAS', () => {
  it('is refused with a Redis Cluster URL (WAIT would run on another connection than the write)', () => {
    const env = { REDIS_URL: 'redis://a:7000,redis://b:7001', REDIS_WAIT_REPLICAS: '1' }
    expect(() => loadConfig(env)).toThrow(ConfigError)
    expect(
      loadConfig({ REDIS_URL: 'redis+sentinel://a:26379/m', REDIS_WAIT_REPLICAS: '1' }).redisWaitReplicas,
    ).toBe(1)
  })

  it('answers 503 when too few replicas acknowledge, and 200 with WAIT off, on a Redis with no replica', async () => {
    // The test Redis has no replica: WAIT 1 can never be satisfied and must end in a 503, not a hang.
    const waiting = await startTestApp({ env: { REDIS_WAIT_REPLICAS: '1', REDIS_COMMAND_TIMEOUT_MS: '400' } })
    const plain = await startTestApp()
    try {
      for (const app of [waiting, plain]) {
        const item = await app.http.inject({
          method: 'POST',
          url: '/api/items',
          headers: app.auth,
          payload: { kind: 'article', title: 'wait' },
        })
        expect(item.statusCode).toBe(201)
      }
      const refused = await waiting.http.inject({ method: 'POST', url: '/api/items/1/views', payload: {} })
      expect(refused.statusCode).toBe(503)
      expect(refused.json().error.code).toBe('unavailable')
      const counted = await plain.http.inject({ method: 'POST', url: '/api/items/1/views', payload: {} })
      expect(counted.statusCode).toBe(200)
    } finally {
      await waiting.close()
      await plain.close()
    }
  })
})
