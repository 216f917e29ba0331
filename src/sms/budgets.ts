import { type Decision, type Limiter, type Quota, tightest } from '../ratelimit/index.ts'
import { smsErrors } from './errors.ts'
import { phoneSubject } from './keys.ts'

export interface SmsBudgets {
  /** Segments one phone may receive per window (the original per-phone limit). */
  perPhone: { limit: number; windowMs: number }
  /** Segments sent on behalf of one client address per window; 0 = no limit. */
  perAddress: { limit: number; windowMs: number }
  /** Segments sent by the whole deployment per window; 0 = no limit. */
  global: { limit: number; windowMs: number }
  /** E.164 country calling codes SMS may go to (`['86', '852']`); empty = any. */
  allowedCountries: string[]
}

export type BudgetVerdict =
  | { allowed: true; release(): Promise<void>; quota?: Quota }
  | { allowed: false; retryAfterMs: number; which: 'phone' | 'address' | 'global'; quota?: Quota }

/** 400 invalid_phone unless the number's country calling code is allowed. */
export function checkCountry(budgets: SmsBudgets, phone: string): void {
  const allowed = budgets.allowedCountries
  if (allowed.length === 0 || allowed.some((code) => phone.startsWith(`+${code}`))) return
  throw smsErrors.error(
    'invalid_phone',
    `SMS can only be sent to numbers of these country codes: +${allowed.join(', +')}`,
    {
      details: { allowedCountries: allowed.map((c) => `+${c}`) },
    },
  )
}

/**
 * Takes `segments` from the phone's, the client address's and the deployment's budget, all or nothing: when one
 * refuses, what the others took is given back. Rotating phone numbers from one address, or spreading over many
 * addresses, runs into the address or the global budget (issue 15 item 10).
 */
export function createBudgetTaker(limiter: Limiter, budgets: SmsBudgets) {
  return async function takeBudgets(
    /** The phone's lookup HMAC (phone-vault.ts), never the number. */
    phoneLookup: string,
    address: string | undefined,
    segments: number,
  ): Promise<BudgetVerdict> {
    const wanted: {
      which: 'phone' | 'address' | 'global'
      subject: string
      limit: number
      windowMs: number
    }[] = [{ which: 'phone', subject: phoneSubject(phoneLookup), ...budgets.perPhone }]
    if (address !== undefined && budgets.perAddress.limit > 0)
      wanted.push({ which: 'address', subject: `sms-addr:${address}`, ...budgets.perAddress })
    if (budgets.global.limit > 0) wanted.push({ which: 'global', subject: 'sms-all', ...budgets.global })

    const settled = await Promise.allSettled(
      wanted.map((w) => limiter.take(w.subject, { limit: w.limit, windowMs: w.windowMs, weight: segments })),
    )
    const taken: { subject: string; id: string }[] = []
    let refused: { which: 'phone' | 'address' | 'global'; retryAfterMs: number } | undefined
    let failure: unknown
    settled.forEach((result, i) => {
      const w = wanted[i] as (typeof wanted)[number]
      if (result.status === 'rejected') failure ??= result.reason
      else if ((result.value as Decision).allowed)
        taken.push({ subject: w.subject, id: (result.value as { id: string }).id })
      else {
        const wait = (result.value as { retryAfterMs: number }).retryAfterMs
        if (!refused || wait > refused.retryAfterMs) refused = { which: w.which, retryAfterMs: wait }
      }
    })
    const release = async () => {
      await Promise.all(taken.map((t) => limiter.release(t.subject, t.id)))
    }
    if (failure !== undefined || refused) await release().catch(() => {})
    if (failure !== undefined) throw failure
    const quota = tightest(settled.flatMap((r) => (r.status === 'fulfilled' ? [r.value as Decision] : [])))
    if (refused) return { allowed: false, ...refused, quota }
    return { allowed: true, release, quota }
  }
}
