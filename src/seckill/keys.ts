/**
 * Every Redis key of the flash sale, built here only. All keys of one product carry its hash tag `{sk:<id>}`,
 * so each script (admission, undo, claim, repair) touches a single Cluster slot.
 */
export function productKeys(prefix: string, productId: number) {
  const tag = `${prefix}:{sk:${productId}}`
  return {
    /** Hash: name, price, stock, remaining, starts / ends (ms, absent = open), createdAt, restoredAt. */
    product: `${tag}:product`,
    /** Hash: user id -> admission record `<state>|<admitted at ms>|<admission id>` (see admission.ts). */
    buyers: `${tag}:buyers`,
  }
}

/** Set once every product has been loaded into Redis; its absence after a data loss triggers a rebuild. */
export const readyKey = (prefix: string) => `${prefix}:seckill:ready`
export const rebuildLockKey = (prefix: string) => `${prefix}:seckill:rebuilding`
