import type { Logger } from '../infra/logger.ts'
import { callScript, type RedisClient } from '../infra/redis.ts'
import type { EventBus } from '../tasks/types.ts'
import { loadCacheScripts } from './entries.ts'
import { createGenerationReader } from './generations.ts'
import { tagKeys } from './keys.ts'

/** Topic on `hotspot.events` telling every cache of every process to drop its L1 copies carrying these tags. */
export const TAGS_TOPIC = 'cache.invalidate-tags'

/** What a tag may look like (the admin route checks the same): letters, digits and `_.:-`, 1–100 of them. */
export const TAG_PATTERN = '^[A-Za-z0-9_.:-]{1,100}$'
const tagPattern = new RegExp(TAG_PATTERN)

/**
 * Lifetime of a tag's generation, longer than any tagged entry's (a cache's TTL + grace, and any TTL a loader
 * sets, are capped below it): an entry never outlives the record of what voided it.
 */
export const TAG_GENERATION_TTL_MS = 90 * 86_400_000
/** Longest TTL + grace of a tagged entry (see TAG_GENERATION_TTL_MS). */
export const MAX_ENTRY_LIFE_MS = 60 * 86_400_000

export interface TagsMessage {
  prefix: string
  tags: string[]
}

export function assertTags(tags: readonly string[]): void {
  for (const tag of tags) {
    if (typeof tag !== 'string' || !tagPattern.test(tag))
      throw new Error(`cache tag ${JSON.stringify(tag)} must match ${TAG_PATTERN}`)
  }
}

/**
 * Tag generations in Redis. An entry records its tags and the epoch its loader read before it ran; it is valid
 * while each of its tags was last invalidated at or before that epoch. Reads are batched per event-loop turn, so
 * a thousand hits in one turn cost one GET of the epoch (and one per tag when a tag moved since the fill).
 */
export function createTagStore(redis: RedisClient, prefix: string) {
  loadCacheScripts(redis)
  const keys = tagKeys(prefix)
  const read = createGenerationReader(async (key) => (await redis.get(key)) ?? '0')
  /** The epoch a tag was last invalidated at (0: never, or longer ago than any entry lives). */
  const generation = async (tag: string): Promise<number> => Number(await read(keys.tag(tag)))
  return {
    /** The epoch now: every tag invalidation that finished before this call is at or below it. */
    epoch: async (): Promise<number> => Number(await read(keys.epoch)),

    /** The newest invalidation among `tags` (0 when none). */
    async newest(tags: readonly string[]): Promise<number> {
      return Math.max(0, ...(await Promise.all(tags.map(generation))))
    },

    /** Voids every entry carrying one of `tags`, in all caches of all processes; returns the new epoch. */
    async invalidate(tags: readonly string[]): Promise<number> {
      assertTags(tags)
      let epoch = 0
      for (const tag of new Set(tags)) {
        epoch = await callScript<number>(
          redis,
          'invalidateTag',
          [keys.epoch, keys.tag(tag)],
          [TAG_GENERATION_TTL_MS],
        )
      }
      return epoch
    },
  }
}

export type TagStore = ReturnType<typeof createTagStore>

/**
 * `invalidateTags`: the tag generations first (what correctness rests on: every read checks them), then a
 * broadcast so every process drops its L1 copies carrying the tags at once rather than on its next read.
 */
export function createTagInvalidator(deps: {
  store: TagStore
  events: EventBus
  prefix: string
  log: Logger
}) {
  const { store, events, prefix, log } = deps
  /** Broadcasts in flight: the caller does not wait for RabbitMQ, stop() does. */
  const sending = new Set<Promise<void>>()
  return {
    async invalidate(tags: readonly string[]): Promise<void> {
      await store.invalidate(tags)
      const message: TagsMessage = { prefix, tags: [...new Set(tags)] }
      const sent = events
        .publish(TAGS_TOPIC, message)
        .catch((error) => log.warn({ err: error }, 'cache tag invalidation broadcast failed'))
        .finally(() => sending.delete(sent))
      sending.add(sent)
    },
    async stop(): Promise<void> {
      await Promise.allSettled(sending)
    },
  }
}

export type TagInvalidator = ReturnType<typeof createTagInvalidator>

/** Listens for tag broadcasts of this app (prefix); returns the function that stops listening. */
export function onTagsInvalidated(events: EventBus, prefix: string, drop: (tags: string[]) => void) {
  return events.on(TAGS_TOPIC, (payload) => {
    const message = payload as Partial<TagsMessage> | null
    if (message?.prefix !== prefix || !Array.isArray(message.tags)) return
    drop(message.tags.filter((tag): tag is string => typeof tag === 'string'))
  })
}
