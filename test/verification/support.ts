import { expect } from 'vitest'
import { createSealer } from '../../src/sms/sealed.ts'
import { secretResolver } from '../../src/verification/secret.ts'
import { eventually } from '../sms/support.ts'
import type { TestApp } from '../support/app.ts'

export { eventually, randomPhone, sleep } from '../sms/support.ts'

export function requestCode(app: TestApp, phone: unknown) {
  return app.http.inject({ method: 'POST', url: '/api/verification-codes', payload: { phone } as object })
}

export function checkCode(app: TestApp, phone: unknown, code: unknown) {
  return app.http.inject({
    method: 'POST',
    url: '/api/verification-codes/check',
    payload: { phone, code } as object,
  })
}

/**
 * Reads the code the way the phone would: the outbox provider stands in for it and keeps what it delivered
 * sealed (admins see it masked), so this opens the sealed part with the deployment's key.
 */
export async function codeFromOutbox(app: TestApp, _phone: string, smsId: string): Promise<string> {
  return eventually(async () => {
    const text = await deliveredText(app, smsId)
    return text === undefined ? undefined : (/\b(\d{6})\b/.exec(text)?.[1] as string)
  })
}

/** The text the outbox delivered for a sealed SMS (first part), opened; undefined before delivery. */
export async function deliveredText(app: TestApp, smsId: string): Promise<string | undefined> {
  const row = await app.db
    .selectFrom('sms_outbox')
    .select('sealed')
    .where('sms_id', '=', smsId)
    .where('part', '=', 1)
    .executeTakeFirst()
  if (!row) return undefined
  expect(row.sealed).not.toBeNull()
  return createSealer(secretResolver(app.config.verification.secret, app.config.dataDir)).open(
    smsId,
    row.sealed as string,
  )
}

/** A 6-digit code different from `code`. */
export const wrongCode = (code: string) => String((Number(code) + 1) % 1_000_000).padStart(6, '0')
