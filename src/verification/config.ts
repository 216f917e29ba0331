import { ConfigError, type Env, integer, text } from '../config.ts'

/** Verification codes' settings (VERIFICATION_*), validated with the rest of the configuration at start. */
export interface VerificationConfig {
  /** Key of the codes' HMAC. Unset: generated on first use and kept in `dataDir/verification-secret`. */
  secret: string | undefined
  ttlSeconds: number
  /** Resend cooldown per phone (0: none). */
  cooldownSeconds: number
  perHour: number
  perDay: number
  /** Wrong attempts that void a code. */
  maxAttempts: number
}

export function loadVerificationConfig(env: Env): VerificationConfig {
  return {
    secret: verificationSecret(env),
    ttlSeconds: integer(env, 'VERIFICATION_TTL_SECONDS', 300, 1, 86_400),
    cooldownSeconds: integer(env, 'VERIFICATION_COOLDOWN_SECONDS', 60, 0, 86_400),
    perHour: integer(env, 'VERIFICATION_PER_HOUR', 5, 1, 1_000_000),
    perDay: integer(env, 'VERIFICATION_PER_DAY', 10, 1, 1_000_000),
    maxAttempts: integer(env, 'VERIFICATION_MAX_ATTEMPTS', 5, 1, 1_000),
  }
}

function verificationSecret(env: Env): string | undefined {
  const secret = text(env, 'VERIFICATION_SECRET')
  if (secret !== undefined && secret.length < 16)
    throw new ConfigError('VERIFICATION_SECRET', 'must be at least 16 characters')
  return secret
}
