import type { Transaction } from 'kysely'
import pRetry from 'p-retry'
import type { Database, Db } from './index.ts'

/**
 * Errors after which the same transaction, run again from the start, can succeed: PostgreSQL aborted it to keep
 * concurrent transactions correct (serialization failure 40001, deadlock 40P01), or SQLite found the database
 * locked by another process past its busy timeout.
 */
function isRetryableConflict(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code
  return code === '40001' || code === '40P01' || code === 'SQLITE_BUSY'
}

/**
 * Runs `work` in a transaction, and runs it again (up to `attempts` times, with jittered backoff) when the
 * database aborted it for a conflict with a concurrent one. `work` must therefore only touch the database: no
 * effect outside the transaction may happen twice.
 */
export async function transact<T>(
  db: Db,
  work: (trx: Transaction<Database>) => Promise<T>,
  options: { attempts?: number; onRetry?: (error: Error, attempt: number) => void } = {},
): Promise<T> {
  return pRetry(() => db.transaction().execute(work), {
    retries: (options.attempts ?? 5) - 1,
    minTimeout: 10,
    maxTimeout: 500,
    randomize: true,
    shouldRetry: ({ error }) => isRetryableConflict(error),
    onFailedAttempt: ({ error, attemptNumber, retriesLeft }) => {
      if (retriesLeft > 0 && isRetryableConflict(error)) options.onRetry?.(error, attemptNumber)
    },
  })
}
