import { unavailable } from '../errors.ts'
import { callScript, type RedisClient } from '../infra/redis.ts'
import { replicated } from '../infra/replica-wait.ts'
import { type Limiter, type Quota, type Rule, tightest } from '../ratelimit/index.ts'
import type { SmsService } from '../sms/service.ts'
import { generateCode, hashCode } from './code.ts'
import { verificationErrors } from './errors.ts'
import { codeKey, sendSubject } from './keys.ts'

/** A code's SMS jumps the queue of bulk messages (priority 0) where the queue has priorities; 9 of Celery's 0–9. */
export const VERIFICATION_SMS_PRIORITY = 9

export interface VerificationSettings {
  ttlSeconds: number
  /** 0: no cooldown. */
  cooldownSeconds: number
  perHour: number
  perDay: number
  maxAttempts: number
}

export type RequestResult =
  | { accepted: true; smsId: string; expiresIn: number; resendAfter: number; quota?: Quota }
  | { accepted: false; retryAfterMs: number; which: 'code' | 'phone' | 'address' | 'global'; quota?: Quota }

const HOUR_MS = 3_600_000

/**
 * Verification codes on top of SMS: a code is 6 random digits, sent by SMS (counting toward the SMS limit)
 * and kept in Redis only as an HMAC with a TTL; checking is one Lua script. Knows nothing of HTTP.
 */
export function createVerificationService(options: {
  redis: RedisClient
  prefix: string
  sms: SmsService
  limiter: Limiter
  secret: () => string
  settings: VerificationSettings
}) {
  const { redis, prefix, sms, limiter, secret, settings } = options
  // One log per phone answers all three: the resend cooldown, the hourly and the daily cap.
  const rules: Rule[] = [
    ...(settings.cooldownSeconds > 0 ? [{ limit: 1, windowMs: settings.cooldownSeconds * 1000 }] : []),
    { limit: settings.perHour, windowMs: HOUR_MS },
    { limit: settings.perDay, windowMs: 24 * HOUR_MS },
  ]

  return {
    /** Sends a new code (replacing any previous one), within the per-phone code limits and the SMS limit. */
    async request(phoneInput: string, address?: string): Promise<RequestResult> {
      const phone = sms.parsePhone(phoneInput)
      const key = codeKey(prefix, sms.phoneLookup(phone))
      const subject = sendSubject(sms.phoneLookup(phone))
      const decision = await limiter.take(subject, { rules })
      if (!decision.allowed)
        return { accepted: false, retryAfterMs: decision.retryAfterMs, which: 'code', quota: decision }

      const code = generateCode()
      const minutes = Math.ceil(settings.ttlSeconds / 60)
      let sent: Awaited<ReturnType<SmsService['send']>>
      try {
        const text = (shown: string) =>
          `Your hotspot code is ${shown}. It expires in ${minutes} min. Never share it.`
        // Stored masked, delivered from a sealed copy (issue 15 item 11): no admin view or backup shows the code.
        sent = await sms.send(phone, text(code), {
          address,
          masked: text('*'.repeat(code.length)),
          priority: VERIFICATION_SMS_PRIORITY,
        })
      } catch (error) {
        await limiter.release(subject, decision.id).catch(() => {})
        throw error
      }
      if (!sent.accepted) {
        // The phone's SMS quota is used: no code went out, so none is counted.
        await limiter.release(subject, decision.id)
        return sent
      }
      // Stored after the SMS is queued, so a refused send never replaces a code the user already has.
      try {
        await redis
          .multi()
          .del(key)
          .hset(key, 'hash', hashCode(secret(), phone, code), 'wrong', 0)
          .expire(key, settings.ttlSeconds)
          .exec()
        await replicated(redis)
      } catch (error) {
        throw unavailable('Redis', error)
      }
      return {
        accepted: true,
        smsId: sent.sms.id,
        expiresIn: settings.ttlSeconds,
        resendAfter: settings.cooldownSeconds,
        // The phone's code limits and its SMS budgets both apply: a client sees the tighter one.
        quota: tightest(sent.quota ? [decision, sent.quota] : [decision]),
      }
    },

    /** Valid once; throws invalid_code (with attemptsLeft), too_many_attempts or code_expired otherwise. */
    async check(phoneInput: string, code: string): Promise<{ valid: true }> {
      const phone = sms.parsePhone(phoneInput)
      let reply: [number, number]
      try {
        reply = await callScript<[number, number]>(
          redis,
          'checkCode',
          [codeKey(prefix, sms.phoneLookup(phone))],
          [hashCode(secret(), phone, code), settings.maxAttempts],
        )
        // A used code's deletion and a wrong guess's count must survive a fail-over too.
        await replicated(redis)
      } catch (error) {
        throw unavailable('Redis', error)
      }
      const [outcome, attemptsLeft] = reply
      if (outcome === 1) return { valid: true }
      if (outcome === 0) {
        throw verificationErrors.error('invalid_code', 'the code is wrong', { details: { attemptsLeft } })
      }
      if (outcome === -2) {
        throw verificationErrors.error(
          'too_many_attempts',
          'too many wrong attempts: this code is void, request a new one',
        )
      }
      throw verificationErrors.error(
        'code_expired',
        'no active code for this phone (expired, used or never sent)',
      )
    },
  }
}

export type VerificationService = ReturnType<typeof createVerificationService>
