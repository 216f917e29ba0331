import type { Config } from '../../config.ts'
import type { Db } from '../../infra/db/index.ts'
import type { Sealer } from '../sealed.ts'
import { createFlakyProvider } from './flaky.ts'
import { createOutboxProvider } from './outbox.ts'
import type { SmsProvider } from './types.ts'

export type { OutgoingSms, SmsProvider } from './types.ts'

/** The provider SMS_PROVIDER names. */
export function createProvider(config: Config, db: Db, sealer: Sealer): SmsProvider {
  const outbox = createOutboxProvider(db, sealer)
  switch (config.smsProvider) {
    case 'outbox':
      return outbox
    case 'flaky':
      return createFlakyProvider(outbox, config.sms.flakyFailures)
  }
}
