import { describe, expect, it } from 'vitest'
import { createHttp } from '../../src/infra/http.ts'
import { createLogger } from '../../src/infra/logger.ts'
import { createMetrics } from '../../src/infra/metrics.ts'

describe('HTTP limits', () => {
  it('answers a POST whose handler hangs with 503 at its deadline, and sheds requests past the in-flight cap', async () => {
    const app = createHttp({
      logger: createLogger('silent'),
      bodyLimit: 1024,
      metrics: createMetrics(),
      limits: { handlerTimeoutMs: 500, maxInFlight: 3 },
    })
    let release = () => {}
    const hung = new Promise<void>((r) => {
      release = r
    })
    app.post('/hang', async () => {
      await hung
      return { late: true }
    })
    const base = await app.listen({ port: 0, host: '127.0.0.1' })
    try {
      const post = () =>
        fetch(`${base}/hang`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '{}',
          signal: AbortSignal.timeout(5000),
        })
      // Over a real socket (Fastify's own handlerTimeout missed POSTs there).
      const answers = await Promise.all(Array.from({ length: 5 }, post))
      const bodies = (await Promise.all(answers.map((r) => r.json()))) as {
        error: { code: string; message: string }
      }[]
      expect(answers.map((r) => r.status)).toEqual([503, 503, 503, 503, 503])
      const messages = bodies.map((b) => b.error.message as string)
      expect(messages.filter((m) => m.includes('did not answer in time'))).toHaveLength(3)
      expect(messages.filter((m) => m.includes('too many requests in progress'))).toHaveLength(2)
      expect(bodies.every((b) => b.error.code === 'unavailable')).toBe(true)
      // The slots are free again once those answers are out.
      release()
      expect((await post()).status).toBe(200)
    } finally {
      release()
      await app.close()
    }
  })
})
