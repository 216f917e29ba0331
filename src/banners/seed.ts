import { withLock } from '../infra/lock/index.ts'
import type { Logger } from '../infra/logger.ts'
import type { RedisClient } from '../infra/redis.ts'
import { seedLockKey } from './keys.ts'
import type { BannersService } from './service.ts'
import type { BannerInput } from './store.ts'

/** What a first start shows on the home page. Images are paths the web UI serves. */
export const DEMO_BANNERS: BannerInput[] = [
  { title: 'Most viewed this week', image: '/banners/rankings.svg', link: '/#rankings', order: 1 },
  {
    title: 'Flash sale: limited stock, fair for everyone',
    image: '/banners/flash-sale.svg',
    link: '/#seckill',
    order: 2,
  },
  { title: 'Sign in with a verification code', image: '/banners/verify.svg', link: '/#verify', order: 3 },
]

/**
 * Seeds the demo banners when the table is empty. A short Redis lock keeps two processes that start together
 * (api next to worker on one PostgreSQL) from both seeding. Returns how many were inserted.
 */
export async function seedDemoBanners(deps: {
  banners: BannersService
  redis: RedisClient
  prefix: string
  log: Logger
}): Promise<number> {
  const { banners, redis, prefix, log } = deps
  if ((await banners.store.count()) > 0) return 0
  const seeded = await withLock(redis, seedLockKey(prefix), { ttlMs: 30_000 }, async () => {
    if ((await banners.store.count()) > 0) return 0
    // Through the cache like any write: a list cached from an earlier database under this prefix is retired.
    await banners.createMany(DEMO_BANNERS)
    log.info({ banners: DEMO_BANNERS.length }, 'demo banners seeded')
    return DEMO_BANNERS.length
  })
  return seeded.acquired ? seeded.value : 0
}
