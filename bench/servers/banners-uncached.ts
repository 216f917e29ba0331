// `GET /api/banners` with no cache at all: the same SQL statement and answer shape on every request, straight
// from the database hotspot migrated and seeded (the seed's starting point, before any caching).
import Fastify from 'fastify'
import { createBannerStore } from '../../src/banners/store.ts'
import { createDb } from '../../src/infra/db/index.ts'

const store = createBannerStore(createDb(process.env.DATABASE_URL as string))
const banner = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    title: { type: 'string' },
    image: { type: 'string' },
    link: { type: 'string' },
    order: { type: 'integer' },
  },
}
const app = Fastify()
app.get('/healthz', async () => ({ status: 'ok' }))
app.get(
  '/api/banners',
  { schema: { response: { 200: { type: 'array', items: banner } } } },
  async (_request, reply) => {
    reply.header('x-cache', 'NONE')
    return store.listShown()
  },
)
await app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' })
