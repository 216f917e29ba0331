/** Ranking periods are UTC calendar days and ISO weeks (Monday to Sunday), numbered from the Unix epoch. */
const DAY_MS = 86_400_000

export type Period = 'day' | 'week' | 'all'

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

/** Ranking keys outlive their period a little so a late reader still sees them, then go away by themselves. */
export const DAY_RANKING_TTL_S = 2 * 86_400
export const WEEK_RANKING_TTL_S = 15 * 86_400
