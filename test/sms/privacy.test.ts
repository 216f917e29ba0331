import { Cluster } from 'ioredis'
import { Migrator, sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createDb, migrateToLatest } from '../../src/infra/db/index.ts'
import { migrationsFor } from '../../src/infra/db/migrations/index.ts'
import { createPhoneVault } from '../../src/sms/phone-vault.ts'
import { dbKinds, freshDatabaseUrl, startTestApp, type TestApp } from '../support/app.ts'
import { phoneLookup, phoneVault, randomPhone, sendSms, settled } from './support.ts'

/** Every Redis key under the app's prefix, with its value, as one text (all masters of a Cluster). */
async function redisDump(app: TestApp): Promise<string> {
  const nodes = app.redis instanceof Cluster ? app.redis.nodes('master') : [app.redis]
  const out: string[] = []
  for (const node of nodes) {
    for (const key of await node.keys(`${app.prefix}:*`)) {
      const type = await node.type(key)
      const value =
        type === 'string'
          ? await node.get(key)
          : type === 'list'
            ? await node.lrange(key, 0, -1)
            : type === 'hash'
              ? await node.hgetall(key)
              : type === 'zset'
                ? await node.zrange(key, '0', '-1')
                : type
      out.push(key, JSON.stringify(value))
    }
  }
  return out.join('\n')
}

// Privacy standard: phone numbers never at rest in clear (SQL rows, Redis keys and values).
describe.each(dbKinds)('phones at rest on %s', (db) => {
  let app: TestApp
  beforeAll(async () => {
    app = await startTestApp({ db })
    await app.start(['worker'])
  })
  afterAll(() => app.close())

  it('SQL rows and Redis hold no clear phone; the sealed phone opens to the number, the HMAC finds it', async () => {
    const phone = randomPhone()
    const sms = (await sendSms(app, { phone, content: 'privacy please' })).json()
    const code = await app.http.inject({ method: 'POST', url: '/api/verification-codes', payload: { phone } })
    expect(code.statusCode).toBe(202)
    await settled(app, sms.id)
    await settled(app, code.json().smsId)

    for (const table of ['sms_messages', 'sms_outbox']) {
      const { rows } = await sql<Record<string, unknown>>`select * from ${sql.table(table)}`.execute(app.db)
      expect(rows.length, table).toBeGreaterThanOrEqual(2)
      // The national number is the part that identifies the person: it appears nowhere, in no form.
      expect(JSON.stringify(rows), table).not.toContain(phone)
      for (const row of rows) {
        expect(row.phone_hash).toBe(phoneLookup(app, `+86${phone}`))
        const smsId = String(table === 'sms_messages' ? row.id : row.sms_id)
        expect(phoneVault(app).open(smsId, String(row.phone))).toBe(`+86${phone}`)
      }
    }
    expect(await redisDump(app)).not.toContain(phone)
  })

  it('the admin list shows the phone masked and still filters by the number', async () => {
    const phone = randomPhone()
    const other = randomPhone()
    const { id } = (await sendSms(app, { phone, content: 'find me' })).json()
    await sendSms(app, { phone: other, content: 'not me' })
    const res = await app.http.inject({ method: 'GET', url: `/api/sms?phone=${phone}`, headers: app.auth })
    expect(res.statusCode).toBe(200)
    expect(res.json().messages).toEqual([
      expect.objectContaining({ id, phone: `+86${phone.slice(0, 3)}****${phone.slice(-4)}` }),
    ])
    expect(res.body).not.toContain(phone)
    await settled(app, id)
    const outbox = await app.http.inject({
      method: 'GET',
      url: `/api/sms/outbox?phone=${phone}`,
      headers: app.auth,
    })
    expect(outbox.json().parts.map((p: { smsId: string; phone: string }) => [p.smsId, p.phone])).toEqual([
      [id, `+86${phone.slice(0, 3)}****${phone.slice(-4)}`],
    ])
  })
})

describe.each(dbKinds)('migration 0009 on %s', (kind) => {
  it('seals the phones of existing rows and fills their lookup HMAC; without the key it refuses', async () => {
    const db = createDb(await freshDatabaseUrl(kind))
    try {
      const migrator = new Migrator({
        db,
        provider: { getMigrations: async () => migrationsFor() },
        migrationTableName: 'hotspot_migrations',
        migrationLockTableName: 'hotspot_migrations_lock',
      })
      const before = await migrator.migrateTo('0008_domain_events')
      expect(before.error).toBeUndefined()
      const phones = Array.from({ length: 3 }, () => `+86${randomPhone()}`)
      const at = new Date().toISOString()
      for (const [i, phone] of phones.entries()) {
        await sql`insert into sms_messages (id, phone, content, encoding, segments, status, attempts, created_at)
          values (${`old-${i}`}, ${phone}, 'hi', 'GSM-7', 1, 'sent', 1, ${at})`.execute(db)
        await sql`insert into sms_outbox (sms_id, part, phone, body, delivered_at)
          values (${`old-${i}`}, 1, ${phone}, 'hi', ${at})`.execute(db)
      }
      await expect(migrateToLatest(db)).rejects.toThrow(/phones in clear/)

      const vault = createPhoneVault(() => 'a-deployment-secret')
      expect(await migrateToLatest(db, {}, { phones: vault })).toEqual({ applied: ['0009_sms_phone_sealed'] })
      const messages = await db.selectFrom('sms_messages').selectAll().orderBy('id').execute()
      const outbox = await db.selectFrom('sms_outbox').selectAll().orderBy('sms_id').execute()
      for (const phone of phones) expect(JSON.stringify([messages, outbox])).not.toContain(phone.slice(3))
      expect(messages.map((m) => [vault.open(m.id, m.phone), m.phone_hash])).toEqual(
        phones.map((p) => [p, vault.lookup(p)]),
      )
      expect(outbox.map((o) => [vault.open(o.sms_id, o.phone), o.phone_hash])).toEqual(
        phones.map((p) => [p, vault.lookup(p)]),
      )
    } finally {
      await db.destroy()
    }
  })
})
