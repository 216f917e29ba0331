import { callScript, type RedisClient } from '../infra/redis.ts'
import { createAdmissionBatcher } from './admission-batch.ts'
import { productKeys } from './keys.ts'

/**
 * Typed wrappers of the flash-sale scripts: callers never build script arguments by hand. An admission record
 * is `<state>|<admitted at ms>|<admission id>`, state `p` (pending: the order task is published or about to
 * be) or `c` (claimed by an order task: the order is written or being written, never undone).
 */
export type Refusal = 'product_not_found' | 'not_started' | 'ended' | 'already_purchased' | 'sold_out'

export type AdmitResult = { admitted: true; admittedAt: number } | { admitted: false; refusal: Refusal }

export type ReleaseResult = 'undone' | 'claimed' | 'absent'
export type ClaimResult = 'claimed' | 'readmitted' | 'cancelled' | 'sold_out' | 'unknown_product'

const CLAIMS: Record<number, ClaimResult> = {
  1: 'claimed',
  2: 'readmitted',
  0: 'cancelled',
  [-1]: 'sold_out',
  [-2]: 'unknown_product',
}

export interface AdmissionRecord {
  state: 'p' | 'c'
  admittedAt: number
  admissionId: string
}

function formatRecord(record: AdmissionRecord): string {
  return `${record.state}|${record.admittedAt}|${record.admissionId}`
}

function parseRecord(raw: string): AdmissionRecord | undefined {
  const match = /^([pc])\|(\d+)\|(.+)$/.exec(raw)
  if (!match) return undefined
  return { state: match[1] as 'p' | 'c', admittedAt: Number(match[2]), admissionId: match[3] as string }
}

/** What Redis holds about a product (the hot copy of its SQL row plus the live `remaining`). */
export interface ProductFields {
  name: string
  price: number
  stock: number
  /** Sale window in ms since the epoch; undefined = open on that side. */
  startsAt?: number
  endsAt?: number
  createdAt: string
}

export interface LiveProduct extends ProductFields {
  remaining: number
}

function fieldPairs(fields: ProductFields): string[] {
  const pairs = ['name', fields.name, 'price', String(fields.price), 'stock', String(fields.stock)]
  if (fields.startsAt !== undefined) pairs.push('starts', String(fields.startsAt))
  if (fields.endsAt !== undefined) pairs.push('ends', String(fields.endsAt))
  pairs.push('createdAt', fields.createdAt)
  return pairs
}

/** Buyers per script call when restoring: keeps each call's ARGV (and its time in Redis) small. */
const RESTORE_CHUNK = 1000

/** `restocked` hears of every change that may raise a product's `remaining` (sold-out.ts forgets it then). */
export function createAdmissions(
  redis: RedisClient,
  prefix: string,
  hooks: { restocked?(productId: number): void } = {},
) {
  const keysOf = (productId: number) => {
    const keys = productKeys(prefix, productId)
    return [keys.product, keys.buyers]
  }

  return {
    /** Batched with the other attempts of this event-loop turn (admission-batch.ts). */
    admit: createAdmissionBatcher(redis, prefix),

    async release(productId: number, userId: string, admissionId: string): Promise<ReleaseResult> {
      const code = await callScript<number>(redis, 'releaseAdmission', keysOf(productId), [
        userId,
        admissionId,
      ])
      if (code === 1) hooks.restocked?.(productId) // the unit is back
      return code === 1 ? 'undone' : code === 0 ? 'claimed' : 'absent'
    },

    async claim(productId: number, userId: string, admissionId: string, admittedAt: number) {
      const code = await callScript<number>(redis, 'claimAdmission', keysOf(productId), [
        userId,
        admissionId,
        admittedAt,
      ])
      return CLAIMS[code] ?? 'cancelled'
    },

    /**
     * Writes a product into Redis: `new` replaces whatever Redis held under the id; `restore` (after a loss)
     * writes only if Redis has no such product, with the buyers of its SQL orders. Returns false when the
     * product was already there.
     */
    async load(
      productId: number,
      fields: ProductFields,
      mode: 'new' | 'restore',
      buyers: [userId: string, record: AdmissionRecord][] = [],
    ): Promise<boolean> {
      const head = fieldPairs(fields)
      for (let i = 0; ; i += RESTORE_CHUNK) {
        const chunk = buyers.slice(i, i + RESTORE_CHUNK)
        const last = i + RESTORE_CHUNK >= buyers.length
        const args = [last ? 1 : 0, mode, head.length / 2, ...head]
        for (const [userId, record] of chunk) args.push(userId, formatRecord(record))
        const result = await callScript<number>(redis, 'restoreProduct', keysOf(productId), args)
        if (result === -1) return false
        if (last) {
          hooks.restocked?.(productId)
          return true
        }
      }
    },

    /** Restores missing buyer records, then sets remaining = stock - buyers. Undefined: product unknown. */
    async repair(productId: number, restore: [userId: string, record: AdmissionRecord][] = []) {
      const args: string[] = []
      for (const [userId, record] of restore) args.push(userId, formatRecord(record))
      const [before, after = 0, restored = 0, buyers = 0] = await callScript<number[]>(
        redis,
        'repairProduct',
        keysOf(productId),
        args,
      )
      if (before === -1) return undefined
      if (after > (before as number)) hooks.restocked?.(productId)
      return { remainingBefore: before as number, remainingAfter: after, restored, buyers }
    },

    async read(productId: number): Promise<LiveProduct | undefined> {
      const hash = await redis.hgetall(productKeys(prefix, productId).product)
      if (hash.remaining === undefined) return undefined
      return {
        name: hash.name ?? '',
        price: Number(hash.price ?? 0),
        stock: Number(hash.stock ?? 0),
        remaining: Number(hash.remaining),
        startsAt: hash.starts === undefined ? undefined : Number(hash.starts),
        endsAt: hash.ends === undefined ? undefined : Number(hash.ends),
        createdAt: hash.createdAt ?? '',
      }
    },

    /** Every admission record of a product (HSCAN: no single huge reply). */
    async buyers(productId: number): Promise<Map<string, AdmissionRecord>> {
      const key = productKeys(prefix, productId).buyers
      const out = new Map<string, AdmissionRecord>()
      let cursor = '0'
      do {
        const [next, flat] = await redis.hscan(key, cursor, 'COUNT', 1000)
        for (let i = 0; i < flat.length; i += 2) {
          const record = parseRecord(flat[i + 1] as string)
          if (record) out.set(flat[i] as string, record)
        }
        cursor = next
      } while (cursor !== '0')
      return out
    },

    exists: async (productId: number) => (await redis.exists(productKeys(prefix, productId).product)) === 1,
  }
}

export type Admissions = ReturnType<typeof createAdmissions>
