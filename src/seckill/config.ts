import { type Env, integer } from '../config.ts'

/** The flash sale's settings (SECKILL_*), validated with the rest of the configuration at start. */
export interface SeckillConfig {
  /** How often beat runs the flash-sale reconciliation. */
  reconcileSeconds: number
  /** Reconciliation re-sends an admission's order only once it is this old (its task may be in flight). */
  resendAfterSeconds: number
  /** Buy attempts per user and per client address within `limitWindowSeconds` (0: no limit). */
  userLimit: number
  ipLimit: number
  limitWindowSeconds: number
  /** How long a sold-out answer is remembered in process (refused without Redis); 0 = always ask Redis. */
  soldOutTrustMs: number
}

export function loadSeckillConfig(env: Env): SeckillConfig {
  return {
    reconcileSeconds: integer(env, 'SECKILL_RECONCILE_SECONDS', 60, 1, 86_400),
    resendAfterSeconds: integer(env, 'SECKILL_RESEND_AFTER_SECONDS', 60, 0, 86_400),
    userLimit: integer(env, 'SECKILL_USER_LIMIT', 10, 0, 1_000_000),
    ipLimit: integer(env, 'SECKILL_IP_LIMIT', 1000, 0, 1_000_000),
    limitWindowSeconds: integer(env, 'SECKILL_LIMIT_WINDOW_SECONDS', 10, 1, 86_400),
    soldOutTrustMs: integer(env, 'SECKILL_SOLD_OUT_TRUST_MS', 1000, 0, 60_000),
  }
}
