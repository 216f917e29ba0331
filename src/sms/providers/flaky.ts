import type { SmsProvider } from './types.ts'

class ProviderError extends Error {
  override name = 'ProviderError'
}

/**
 * Fails the first `failures` attempts of every message, then hands it to `next`: shows retries with backoff,
 * and with `failures` ≥ SMS_MAX_ATTEMPTS the `failed` state (SMS_PROVIDER=flaky, SMS_FLAKY_FAILURES).
 */
export function createFlakyProvider(next: SmsProvider, failures: number): SmsProvider {
  return {
    name: 'flaky',
    async send(sms) {
      if (sms.attempt <= failures) {
        throw new ProviderError(`gateway refused attempt ${sms.attempt} (flaky provider fails ${failures})`)
      }
      await next.send(sms)
    },
  }
}
