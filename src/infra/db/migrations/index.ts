import type { Migration } from 'kysely'
import * as m0001 from './0001_items.ts'
import * as m0002 from './0002_sms.ts'
import * as m0003 from './0003_banners.ts'
import * as m0004 from './0004_seckill.ts'
import * as m0005 from './0005_sms_sealed.ts'
import * as m0006 from './0006_sms_gateways.ts'
import * as m0007 from './0007_sms_recent.ts'
import * as m0008 from './0008_domain_events.ts'
import { type PhoneSealing, phonesSealed } from './0009_sms_phone_sealed.ts'

/** What migrations that convert data need from the deployment (the key that seals phones). */
export interface MigrationContext {
  phones?: PhoneSealing
}

/** Every migration, in order. Listed by hand so the same list works from src/ (tsx) and dist/ (node). */
export const migrationsFor = (context: MigrationContext = {}): Record<string, Migration> => ({
  '0001_items': m0001,
  '0002_sms': m0002,
  '0003_banners': m0003,
  '0004_seckill': m0004,
  '0005_sms_sealed': m0005,
  '0006_sms_gateways': m0006,
  '0007_sms_recent': m0007,
  '0008_domain_events': m0008,
  '0009_sms_phone_sealed': phonesSealed(context.phones),
})

/** The list by name (doctor): converting nothing, it needs no key. */
export const migrations = migrationsFor()
