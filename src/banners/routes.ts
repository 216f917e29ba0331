import { type Static, Type } from 'typebox'
import type { AdminCheck } from '../infra/auth.ts'
import type { Http } from '../infra/http.ts'
import type { BannersService } from './service.ts'

/** An absolute http(s) URL, or a path on this site (not `//host`, which browsers treat as another host). */
const URL_FORMS = 'https?://[^\\s/?#]+[^\\s]*|/(?!/)[^\\s]*'

const fields = {
  title: Type.String({ minLength: 1, maxLength: 200, pattern: '\\S' }),
  image: Type.String({
    maxLength: 2048,
    pattern: `^(${URL_FORMS})$`,
    description: 'http(s) URL or a path on this site',
  }),
  link: Type.String({
    maxLength: 2048,
    pattern: `^(${URL_FORMS})?$`,
    description: 'where a click goes: http(s) URL, a path on this site, or empty for none',
  }),
  order: Type.Integer({
    minimum: -1_000_000,
    maximum: 1_000_000,
    description: 'ascending: lower comes first',
  }),
  shown: Type.Boolean({ description: 'false hides it from GET /api/banners' }),
}

const PublicBanner = Type.Object({
  id: Type.Integer(),
  title: Type.String(),
  image: Type.String(),
  link: Type.String(),
  order: Type.Integer(),
})
const Banner = Type.Object({
  ...PublicBanner.properties,
  shown: Type.Boolean(),
  createdAt: Type.String(),
  updatedAt: Type.String(),
})
const PublicList = Type.Array(PublicBanner)
/** The cache holds the list's JSON; Fastify sends a string with a JSON content type as is (no serializer). */
const asJson = (json: string) => json as unknown as Static<typeof PublicList>
const BannerId = Type.Object({ id: Type.Integer({ minimum: 1, maximum: 9_007_199_254_740_991 }) })
const admin = { tags: ['banners'], security: [{ admin: [] }] }

export interface BannersRoutesDeps {
  banners: BannersService
  admin: AdminCheck
}

/**
 * Banners over HTTP, the cached public list and the admin writes, as an encapsulated Fastify plugin
 * (`http.register(bannersRoutes, deps)`): what it adds to its instance stays inside it.
 */
export async function bannersRoutes(app: Http, deps: BannersRoutesDeps) {
  const { banners } = deps
  const onRequest = deps.admin.requireAdmin

  app.get(
    '/api/banners',
    {
      schema: {
        tags: ['banners'],
        description: 'Shown banners by order. `X-Cache` says where the answer came from: HIT, MISS or STALE.',
        response: { 200: PublicList },
      },
    },
    async (_request, reply) => {
      const { serialized, status } = await banners.list()
      // The JSON the cache holds is the answer: sent as is, a hit costs no serialization.
      return reply.header('x-cache', status).type('application/json; charset=utf-8').send(asJson(serialized))
    },
  )

  app.get(
    '/api/banners/all',
    { onRequest, schema: { ...admin, response: { 200: Type.Object({ banners: Type.Array(Banner) }) } } },
    async () => ({ banners: await banners.listAll() }),
  )

  app.post(
    '/api/banners',
    {
      onRequest,
      schema: {
        ...admin,
        body: Type.Object(
          {
            title: fields.title,
            image: fields.image,
            link: Type.Optional(fields.link),
            order: Type.Optional(fields.order),
            shown: Type.Optional(fields.shown),
          },
          { additionalProperties: false },
        ),
        response: { 201: Banner },
      },
    },
    async (request, reply) => reply.status(201).send(await banners.create(request.body)),
  )

  app.put(
    '/api/banners/:id',
    {
      onRequest,
      schema: {
        ...admin,
        description: 'Changes the fields given; the others keep their value.',
        params: BannerId,
        body: Type.Partial(Type.Object(fields), { additionalProperties: false, minProperties: 1 }),
        response: { 200: Banner },
      },
    },
    async (request) => banners.update(request.params.id, request.body),
  )

  app.delete(
    '/api/banners/:id',
    { onRequest, schema: { ...admin, params: BannerId } },
    async (request, reply) => {
      await banners.remove(request.params.id)
      return reply.status(204).send()
    },
  )
}
