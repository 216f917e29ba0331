import { createHmac, randomInt } from 'node:crypto'

/** Six digits, uniform, from the OS's CSPRNG. */
export function generateCode(): string {
  return String(randomInt(0, 1_000_000)).padStart(6, '0')
}

/**
 * What Redis stores instead of the code: HMAC-SHA256 keyed with the server secret, bound to the phone. Without
 * the secret, a dump of Redis does not give the codes back (10^6 candidates would be trivial to hash otherwise).
 */
export function hashCode(secret: string, phone: string, code: string): string {
  return createHmac('sha256', secret).update(`${phone}:${code}`).digest('hex')
}
