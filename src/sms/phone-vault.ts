import { createHmac, hkdfSync } from 'node:crypto'
import type { Config } from '../config.ts'
import { secretResolver } from '../verification/secret.ts'
import { createSealer } from './sealed.ts'

/**
 * Phone numbers at rest (never in clear, issue 15 / privacy standard): SQL keeps each SMS's phone sealed with
 * AES-256-GCM (sealed.ts, its own HKDF key, bound to the SMS id), plus `lookup(phone)`, a keyed HMAC that finds
 * one phone's rows and names its Redis keys (limits, codes) without the number. Both keys derive from
 * VERIFICATION_SECRET, so every process of a deployment seals and looks up alike.
 */
export interface PhoneVault {
  seal(smsId: string, phone: string): string
  open(smsId: string, sealed: string): string
  /** HMAC-SHA256 of the E.164 number, hex: equal phones give equal lookups, and nothing else. */
  lookup(phone: string): string
}

const SEAL_INFO = 'hotspot sms phone v1'
const LOOKUP_INFO = 'hotspot sms phone lookup v1'

export function createPhoneVault(secret: () => string): PhoneVault {
  const sealer = createSealer(secret, SEAL_INFO)
  let lookupKey: Buffer | undefined
  return {
    seal: sealer.seal,
    open: sealer.open,
    lookup(phone) {
      lookupKey ??= Buffer.from(hkdfSync('sha256', secret(), 'hotspot', LOOKUP_INFO, 32))
      return createHmac('sha256', lookupKey).update(phone).digest('hex')
    },
  }
}

/** The deployment's vault (VERIFICATION_SECRET, else the generated one in the data dir), for the migration. */
export const deploymentPhoneVault = (config: Pick<Config, 'verification' | 'dataDir'>) =>
  createPhoneVault(secretResolver(config.verification.secret, config.dataDir))
