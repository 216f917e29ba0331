// Pure phone-number handling (no I/O): normalisation to E.164 and masking for responses and logs.

// Mainland China mobile: 1, then 3–9, then 9 more digits (11 digits total).
const CN_MOBILE = /^1[3-9]\d{9}$/
// E.164: '+' then 8–15 digits, the first (country code) not 0.
const E164 = /^\+[1-9]\d{7,14}$/
// Accepted shape before separators are stripped: an optional leading '+', then ASCII digit groups separated by a
// single space or hyphen ('+86 138-1234-5678'). Anything else (dots, parentheses, doubled or trailing separators,
// '+ 86', full-width digits, letters) is rejected rather than guessed at.
const SHAPE = /^\+?\d+(?:[ -]\d+)*$/

/**
 * Normalise a user-supplied phone number to E.164, or null if it is not acceptable.
 *
 * - Surrounding whitespace is trimmed; inside, single spaces or hyphens between digit groups are tolerated.
 * - Mainland China mobile (`1[3-9]` + 9 digits), bare or prefixed with `86` or `+86` → `+86…`.
 * - Any other `+` number with 8–15 digits, first digit not 0 → returned as is (separators removed). A `+86`
 *   number that is not a mobile (e.g. a landline) is still valid E.164 and is kept.
 * - Without `+`, only the China mobile forms are accepted (no guessing of other national formats or `00`).
 */
export function normalizePhone(input: string): string | null {
  const trimmed = input.trim()
  if (!SHAPE.test(trimmed)) return null
  const compact = trimmed.replace(/[ -]/g, '')

  if (compact.startsWith('+')) return E164.test(compact) ? compact : null
  if (CN_MOBILE.test(compact)) return `+86${compact}`
  if (compact.startsWith('86') && CN_MOBILE.test(compact.slice(2))) return `+${compact}`
  return null
}

// At least this many digits are always hidden, even for the shortest E.164 numbers.
const MIN_MASKED = 4
const VISIBLE_TAIL = 4

/**
 * Mask a phone number for responses and log lines: keep the country code and first 3 digits of a +86 number
 * (`+86138****5678`), the first 3 digits of any other number, and the last 4 digits; every hidden digit becomes
 * one `*`. The visible prefix shrinks on short numbers so at least 4 digits stay hidden. Input that does not
 * normalise to a phone number yields a fixed `****` so nothing of it leaks.
 */
export function maskPhone(e164: string): string {
  const phone = E164.test(e164) ? e164 : normalizePhone(e164)
  if (phone === null) return '****'
  const digits = phone.slice(1)
  const wantedHead = digits.startsWith('86') ? 5 : 3
  const head = Math.max(0, Math.min(wantedHead, digits.length - VISIBLE_TAIL - MIN_MASKED))
  const masked = digits.length - head - VISIBLE_TAIL
  return `+${digits.slice(0, head)}${'*'.repeat(masked)}${digits.slice(-VISIBLE_TAIL)}`
}
