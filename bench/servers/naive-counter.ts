// The seed's approach: GET the count, add one in JavaScript, SET it back — two round trips, lost updates.
import Fastify from 'fastify'
import { Redis } from 'ioredis'

const redis = new Redis(process.env.REDIS_URL as string, { enableAutoPipelining: true })
const app = Fastify()
app.get('/healthz', async () => ({ status: 'ok' }))
app.post('/naive/:id/views', async (request) => {
  const key = `naive:${(request.params as { id: string }).id}`
  const views = Number((await redis.get(key)) ?? 0) + 1
  await redis.set(key, views)
  return { views }
})
await app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' })
