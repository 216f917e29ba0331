import type { Cache, CacheResult } from '../cache/cache.ts'
import type { DomainEventSink } from '../domain-events/types.ts'
import type { Db } from '../infra/db/index.ts'
import { bannerErrors } from './errors.ts'
import { LIST_KEY } from './keys.ts'
import { type Banner, type BannerInput, createBannerStore, type PublicBanner } from './store.ts'

const notFound = (id: number) => bannerErrors.error('banner_not_found', `banner ${id} does not exist`)

/**
 * Banners: the public list read through the cache, admin writes to SQL first and then invalidation (every
 * process's next read reflects them). Knows nothing of HTTP.
 */
export function createBannersService(deps: {
  db: Db
  cache: Cache<PublicBanner[]>
  /** banner.changed commits with each write. */
  domainEvents?: DomainEventSink
}) {
  const { cache } = deps
  const store = createBannerStore(deps.db, deps.domainEvents)
  const loadList = () => store.listShown()

  return {
    store,

    /** Shown banners by order, and where they came from (HIT, MISS, STALE). */
    list: (): Promise<CacheResult<PublicBanner[]>> => cache.get(LIST_KEY, loadList),

    /** Reloads the cached list now (beat's scheduled refresh); false when a load was already under way. */
    refresh: (): Promise<boolean> => cache.refresh(LIST_KEY, loadList),

    listAll: (): Promise<Banner[]> => store.listAll(),

    async get(id: number): Promise<Banner> {
      const banner = await store.get(id)
      if (!banner) throw notFound(id)
      return banner
    },

    create: (input: BannerInput): Promise<Banner> => cache.mutate([LIST_KEY], () => store.insert(input)),

    /** Several banners in one transaction (the demo seed). */
    createMany: (inputs: BannerInput[]): Promise<void> =>
      cache.mutate([LIST_KEY], () => store.insertMany(inputs)),

    async update(id: number, patch: Partial<BannerInput>): Promise<Banner> {
      // An unknown id is answered before the cache is touched: a 404 changes nothing, not even the cache.
      if (!(await store.get(id))) throw notFound(id)
      const banner = await cache.mutate([LIST_KEY], () => store.update(id, patch))
      if (!banner) throw notFound(id) // deleted in between
      return banner
    },

    async remove(id: number): Promise<void> {
      if (!(await store.get(id))) throw notFound(id)
      if (!(await cache.mutate([LIST_KEY], () => store.remove(id)))) throw notFound(id)
    },
  }
}

export type BannersService = ReturnType<typeof createBannersService>
