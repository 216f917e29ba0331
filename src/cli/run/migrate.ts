import type { Config } from '../../config.ts'
import { createDb, migrateToLatest } from '../../infra/db/index.ts'
import { deploymentPhoneVault } from '../../sms/phone-vault.ts'
import { say } from '../common.ts'

/** `hotspot migrate`: applies the SQL migrations not applied yet. */
export async function migrate(config: Config) {
  const db = createDb(config.databaseUrl)
  try {
    const { applied } = await migrateToLatest(db, {}, { phones: deploymentPhoneVault(config) })
    say(applied.length ? `applied ${applied.join(', ')}` : 'database is up to date')
  } finally {
    await db.destroy()
  }
}
