/**
 * Trending: views decayed with a half-life, kept in a sorted set that is never rescored. A view at time t weighs
 * 2^(t / halfLife) — later views weigh more, which is the same order as decaying every older view — and the score
 * is the natural log of the sum of the weights, so it grows linearly with time instead of overflowing: adding n
 * views is `score = logAddExp(score, ln n + λt)` in the record-views script (λ = ln 2 / halfLife). Two items'
 * order never changes without a view, so nothing has to be rescored; a value in "views now" is exp(score − λ·now).
 */
export function createTrending(halfLifeHours: number) {
  const lambdaPerMs = Math.LN2 / (halfLifeHours * 3_600_000)
  return {
    /** ln of one view's weight now: the script adds ln n to it. */
    logWeight: (now = Date.now()) => lambdaPerMs * now,
    /** A stored score as views decayed to now (rounded to 0.01). */
    decayedViews(score: number, now = Date.now()): number {
      return Math.round(Math.exp(score - lambdaPerMs * now) * 100) / 100
    },
    /** The score of `views` views seen at `at` (rebuilding from SQL's per-day totals). */
    scoreOf: (views: number, at: number) => Math.log(views) + lambdaPerMs * at,
  }
}

export type Trending = ReturnType<typeof createTrending>
