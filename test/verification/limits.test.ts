import { randomUUID } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestApp, type TestApp } from '../support/app.ts'
import { checkCode, codeFromOutbox, randomPhone, requestCode, sleep, wrongCode } from './support.ts'

// The SMS limit is lifted in these apps so that only the code limits under test can refuse.
const base = { VERIFICATION_SECRET: 'test-verification-secret-0123456789', SMS_LIMIT_SEGMENTS: '1000' }

describe('verification code limits and expiry (configured short)', () => {
  let app: TestApp
  let daily: TestApp
  let shortLived: TestApp
  beforeAll(async () => {
    ;[app, daily, shortLived] = await Promise.all([
      startTestApp({ env: { ...base, VERIFICATION_COOLDOWN_SECONDS: '0' } }),
      startTestApp({ env: { ...base, VERIFICATION_COOLDOWN_SECONDS: '0', VERIFICATION_PER_HOUR: '100' } }),
      startTestApp({ env: { ...base, VERIFICATION_TTL_SECONDS: '1' } }),
    ])
    await Promise.all([app.start(['worker']), shortLived.start(['worker'])])
  })
  afterAll(async () => {
    await Promise.all([app.close(), daily.close(), shortLived.close()])
  })

  it('a new code replaces the old one', async () => {
    const phone = randomPhone()
    const first = (await requestCode(app, phone)).json()
    const second = (await requestCode(app, phone)).json()
    const [old, current] = await Promise.all([
      codeFromOutbox(app, `+86${phone}`, first.smsId),
      codeFromOutbox(app, `+86${phone}`, second.smsId),
    ])
    if (old !== current) {
      const stale = await checkCode(app, phone, old)
      expect(stale.json().error).toMatchObject({ code: 'invalid_code', attemptsLeft: 4 })
    }
    expect((await checkCode(app, phone, current)).json()).toEqual({ valid: true })
  })

  it('5 codes per hour: the 6th is refused for about an hour', async () => {
    const phone = randomPhone()
    const answers = await Promise.all(Array.from({ length: 8 }, () => requestCode(app, phone)))
    expect(answers.filter((r) => r.statusCode === 202)).toHaveLength(5)
    const refused = answers.filter((r) => r.statusCode === 429)
    expect(refused).toHaveLength(3)
    for (const res of refused) {
      expect(res.json().error.code).toBe('rate_limited')
      expect(res.json().error.retryAfter).toBeGreaterThan(3_500)
      expect(res.json().error.retryAfter).toBeLessThanOrEqual(3_600)
      expect(res.headers['retry-after']).toBe(String(res.json().error.retryAfter))
    }
  })

  it('10 codes per day: the 11th is refused for about a day', async () => {
    const phone = randomPhone()
    const answers = await Promise.all(Array.from({ length: 12 }, () => requestCode(daily, phone)))
    expect(answers.filter((r) => r.statusCode === 202)).toHaveLength(10)
    const refused = answers.filter((r) => r.statusCode === 429)
    expect(refused).toHaveLength(2)
    for (const res of refused) expect(res.json().error.retryAfter).toBeGreaterThan(86_000)
  })

  it('an expired code is gone: code_expired', async () => {
    const phone = randomPhone()
    const { smsId, expiresIn } = (await requestCode(shortLived, phone)).json()
    expect(expiresIn).toBe(1)
    const code = await codeFromOutbox(shortLived, `+86${phone}`, smsId)
    await sleep(1_200)
    const res = await checkCode(shortLived, phone, code)
    expect([res.statusCode, res.json().error.code]).toEqual([400, 'code_expired'])
  })
})

describe('verification secret and several API instances', () => {
  let dataDir: string
  let first: TestApp
  let second: TestApp
  let otherSecret: TestApp
  beforeAll(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hotspot-vc-secret-'))
    const keyPrefix = `t${randomUUID().slice(0, 8)}`
    // No VERIFICATION_SECRET: generated on first use into the shared data dir.
    first = await startTestApp({ keyPrefix, env: { HOTSPOT_DATA_DIR: dataDir } })
    second = await startTestApp({ keyPrefix, env: { HOTSPOT_DATA_DIR: dataDir } })
    otherSecret = await startTestApp({
      keyPrefix,
      env: { VERIFICATION_SECRET: 'a-different-secret-0123456789' },
    })
    await first.start(['worker'])
  })
  afterAll(async () => {
    await Promise.all([first.close(), second.close(), otherSecret.close()])
    fs.rmSync(dataDir, { recursive: true, force: true })
  })

  it('generates the secret once (mode 600); a code sent by one instance checks on another', async () => {
    const phone = randomPhone()
    const sent = await requestCode(first, phone)
    expect(sent.statusCode).toBe(202)
    const file = path.join(dataDir, 'verification-secret')
    expect(fs.statSync(file).mode & 0o777).toBe(0o600)
    expect(fs.readFileSync(file, 'utf8').trim().length).toBeGreaterThanOrEqual(32)
    // The cooldown holds across instances too.
    expect((await requestCode(second, phone)).statusCode).toBe(429)
    const code = await codeFromOutbox(first, `+86${phone}`, sent.json().smsId)
    // An instance keyed with another secret cannot even find it: the key names the phone's keyed HMAC.
    const foreign = await checkCode(otherSecret, phone, code)
    expect(foreign.json().error).toMatchObject({ code: 'code_expired' })
    expect((await checkCode(second, phone, wrongCode(code))).json().error.attemptsLeft).toBe(4)
    expect((await checkCode(second, phone, code)).json()).toEqual({ valid: true })
  })
})
