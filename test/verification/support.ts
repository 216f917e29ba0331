import { expect } from 'vitest'
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

/** Reads the code the way a client of the outbox would: the admin outbox route, newest part for the phone. */
export async function codeFromOutbox(app: TestApp, phone: string, smsId: string): Promise<string> {
  return eventually(async () => {
    const res = await app.http.inject({
      method: 'GET',
      url: `/api/sms/outbox?phone=${encodeURIComponent(phone)}`,
      headers: app.auth,
    })
    expect(res.statusCode).toBe(200)
    const part = (res.json().parts as { smsId: string; body: string }[]).find((p) => p.smsId === smsId)
    return part ? (/\b(\d{6})\b/.exec(part.body)?.[1] as string) : undefined
  })
}

/** A 6-digit code different from `code`. */
export const wrongCode = (code: string) => String((Number(code) + 1) % 1_000_000).padStart(6, '0')
