import { expect } from 'vitest'
import { deploymentPhoneVault } from '../../src/sms/phone-vault.ts'
import type { TestApp } from '../support/app.ts'

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Polls until `check` returns something other than undefined (delivery is asynchronous). */
export async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`)
    await sleep(50)
  }
}

/** A phone nobody else in the run uses: 139 + 8 random digits. */
export function randomPhone(): string {
  return `139${String(Math.floor(Math.random() * 1e8)).padStart(8, '0')}`
}

export function sendSms(app: TestApp, payload: unknown) {
  return app.http.inject({ method: 'POST', url: '/api/sms', payload: payload as object })
}

export async function getSms(app: TestApp, id: string, admin = false) {
  const res = await app.http.inject({ method: 'GET', url: `/api/sms/${id}`, headers: admin ? app.auth : {} })
  expect(res.statusCode).toBe(200)
  return res.json()
}

/** Waits until the SMS reaches `sent` or `failed` and returns its admin view. */
export function settled(app: TestApp, id: string, timeoutMs = 15_000) {
  return eventually(async () => {
    const sms = await getSms(app, id, true)
    return sms.status === 'sent' || sms.status === 'failed' ? sms : undefined
  }, timeoutMs)
}

/** Rows the outbox provider delivered for one SMS, straight from SQL. */
export function outboxRows(app: TestApp, smsId: string) {
  return app.db.selectFrom('sms_outbox').selectAll().where('sms_id', '=', smsId).orderBy('part').execute()
}

/** The app's phone vault: what SQL and Redis know a phone by (its lookup HMAC), and opens sealed phones. */
export const phoneVault = (app: TestApp) => deploymentPhoneVault(app.config)

/** The keyed HMAC an E.164 phone is stored and limited under. */
export const phoneLookup = (app: TestApp, e164: string) => phoneVault(app).lookup(e164)

/** Units in a phone's limiter log (E.164 phone), newest first; expired ones may linger until trimmed. */
export function limiterUnits(app: TestApp, e164: string) {
  return app.redis.llen(`${app.prefix}:rl:{sms:${phoneLookup(app, e164)}}`)
}
