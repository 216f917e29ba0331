import { createCipheriv, createDecipheriv, hkdfSync, randomFillSync } from 'node:crypto'

/**
 * Text that must not sit in clear at rest (a verification code's SMS): AES-256-GCM with a key derived by HKDF
 * from VERIFICATION_SECRET, bound to the SMS id (additional data), so a sealed text moved to another row does
 * not open. Stored as `v1.<iv>.<ciphertext>.<tag>` (base64url).
 */
export interface Sealer {
  seal(smsId: string, text: string): string
  open(smsId: string, sealed: string): string
}

const INFO = 'hotspot sms sealed text v1'

const IV_BYTES = 12
/**
 * IVs are cut from a buffer of CSPRNG bytes refilled 256 IVs at a time: `randomBytes(12)` per seal asked the
 * CSPRNG for 12 bytes each time (7 µs a call here, two seals per SMS). The same randomness; every IV used once.
 */
const ivPool = Buffer.alloc(IV_BYTES * 256)
let ivNext = ivPool.length
export function freshIv(): Buffer {
  if (ivNext === ivPool.length) {
    randomFillSync(ivPool)
    ivNext = 0
  }
  // A copy: the next refill must not change an IV already handed out.
  const iv = Buffer.from(ivPool.subarray(ivNext, ivNext + IV_BYTES))
  ivNext += IV_BYTES
  return iv
}

/** `info` separates keys by purpose (HKDF): the texts' key never opens phones, and the other way round. */
export function createSealer(secret: () => string, info = INFO): Sealer {
  let key: Buffer | undefined
  // Derived on first use: processes that never seal or open anything never resolve (or create) the secret.
  const keyOf = () => {
    key ??= Buffer.from(hkdfSync('sha256', secret(), 'hotspot', info, 32))
    return key
  }
  return {
    seal(smsId, text) {
      const iv = freshIv()
      const cipher = createCipheriv('aes-256-gcm', keyOf(), iv).setAAD(Buffer.from(smsId))
      const body = Buffer.concat([cipher.update(text, 'utf8'), cipher.final()])
      return ['v1', iv, body, cipher.getAuthTag()]
        .map((p) => (typeof p === 'string' ? p : p.toString('base64url')))
        .join('.')
    },
    open(smsId, sealed) {
      const [version, iv, body, tag] = sealed.split('.')
      if (version !== 'v1' || iv === undefined || body === undefined || tag === undefined)
        throw new Error('not a sealed SMS text')
      const decipher = createDecipheriv('aes-256-gcm', keyOf(), Buffer.from(iv, 'base64url'))
        .setAAD(Buffer.from(smsId))
        .setAuthTag(Buffer.from(tag, 'base64url'))
      return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString(
        'utf8',
      )
    },
  }
}
