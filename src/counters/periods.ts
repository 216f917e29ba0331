/** Ranking periods are UTC calendar days, ISO weeks (Monday to Sunday) and calendar months, numbered from the Unix epoch. */
const DAY_MS = 86_400_000

/** Periods with a fixed window; `trending` (decayed, see trending.ts) has none. */
export type CalendarPeriod = 'day' | 'week' | 'month'
export type Period = CalendarPeriod | 'all' | 'trending'

export function dayIndex(now = Date.now()): number {
  return Math.floor(now / DAY_MS)
}

/** 1970-01-01 was a Thursday: shifting by 3 days makes every index start on a Monday. */
export function weekIndex(day: number): number {
  return Math.floor((day + 3) / 7)
}

export function daysOfWeek(week: number): number[] {
  const monday = week * 7 - 3
  return Array.from({ length: 7 }, (_, i) => monday + i)
}

/** Months since January 1970 (UTC). */
export function monthIndex(day: number): number {
  const date = new Date(day * DAY_MS)
  return (date.getUTCFullYear() - 1970) * 12 + date.getUTCMonth()
}

export function daysOfMonth(month: number): number[] {
  const year = 1970 + Math.floor(month / 12)
  const first = dayIndex(Date.UTC(year, month % 12, 1))
  const next = dayIndex(Date.UTC(year, (month % 12) + 1, 1))
  return Array.from({ length: next - first }, (_, i) => first + i)
}

/** The days a calendar period containing `day` spans. */
export function daysOf(period: CalendarPeriod, day: number): number[] {
  if (period === 'day') return [day]
  return period === 'week' ? daysOfWeek(weekIndex(day)) : daysOfMonth(monthIndex(day))
}

/** `YYYY-MM-DD` (UTC) to a day index; null when it is not a real calendar date. */
export function parseDay(date: string): number | null {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date)
  if (!match) return null
  const [year, month, dayOfMonth] = [Number(match[1]), Number(match[2]), Number(match[3])]
  const ms = Date.UTC(year, month - 1, dayOfMonth)
  const parsed = new Date(ms)
  // Date.UTC rolls 2026-02-30 over to March: a real date survives the round trip.
  if (
    parsed.getUTCFullYear() !== year ||
    parsed.getUTCMonth() !== month - 1 ||
    parsed.getUTCDate() !== dayOfMonth
  )
    return null
  return dayIndex(ms)
}

/** Ranking keys outlive their period a little so a late reader still sees them, then go away by themselves. */
export const DAY_RANKING_TTL_S = 2 * 86_400
export const WEEK_RANKING_TTL_S = 15 * 86_400
export const MONTH_RANKING_TTL_S = 40 * 86_400
