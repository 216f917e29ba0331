/**
 * A gateway's receipt racing the worker's "sent" (SMPP answers within a millisecond): on PostgreSQL at READ
 * COMMITTED each transaction could miss the other's write, leaving a delivered message `sent` for good (seen in
 * the cluster profile's SMPP end-to-end test). Both orders, many times, really concurrent: every message settles.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createDb, type Db, migrateToLatest } from '../../src/infra/db/index.ts'
import { createSmsStore } from '../../src/sms/store.ts'
import { dbKinds, freshDatabaseUrl } from '../support/app.ts'
import { probed, type SqlProbe } from '../support/sql-probe.ts'

const MESSAGES = 200

describe.each(dbKinds)('SMS receipt racing markSent on %s', (kind) => {
  let db: Db
  let probe: SqlProbe
  let store: ReturnType<typeof createSmsStore>
  beforeAll(async () => {
    const base = createDb(await freshDatabaseUrl(kind))
    await migrateToLatest(base)
    ;({ db, probe } = probed(base))
    store = createSmsStore(db)
  })
  const queue = async (id: string) => {
    await store.insert(
      {
        id,
        phone: 'sealed',
        phone_hash: `hash-${id}`,
        content: 'hi',
        encoding: 'GSM-7',
        segments: 1,
        sealed: null,
      },
      '+86139****0000',
    )
    expect(await store.claim(id, 60_000)).toBeDefined()
    await store.recordPart(id, 0, 'smpp', `mid-${id}`)
  }
  const statusOf = async (id: string) =>
    (await db.selectFrom('sms_messages').select('status').where('id', '=', id).executeTakeFirstOrThrow())
      .status

  it('a receipt whose transaction is still open while "sent" runs start to end: the message ends delivered', async () => {
    const id = 'race-paused'
    await queue(id)
    let sending: Promise<void> | undefined
    probe.after = async (text) => {
      // The receipt's own settle step (its message is not `sent` yet, so it changed nothing): hold its
      // transaction open and let markSent run meanwhile, to its end or until it waits for the receipt's locks.
      if (
        sending ||
        !/^update "sms_messages" set "status" = (\$1|\?) where "id" = (\$2|\?) and "status" in/.test(text)
      )
        return
      sending = store.markSent(id, 'smpp')
      await Promise.race([sending, new Promise((resolve) => setTimeout(resolve, 1000))])
    }
    try {
      await store.applyReceipt({ gateway: 'smpp', messageId: `mid-${id}`, delivered: true })
      await sending
    } finally {
      probe.after = undefined
    }
    expect(sending).toBeDefined()
    expect(await statusOf(id)).toBe('delivered')
  })
  afterAll(async () => {
    await db?.destroy()
  })

  it(`${MESSAGES} messages whose receipt and "sent" commit at the same time all end delivered`, async () => {
    const ids = Array.from({ length: MESSAGES }, (_, i) => `race-${i}`)
    for (const id of ids) await queue(id)
    await Promise.all(
      ids.map((id, i) => {
        const sent = () => store.markSent(id, 'smpp')
        const receipt = () => store.applyReceipt({ gateway: 'smpp', messageId: `mid-${id}`, delivered: true })
        return i % 2 ? Promise.all([sent(), receipt()]) : Promise.all([receipt(), sent()])
      }),
    )
    const rows = await db.selectFrom('sms_messages').select(['id', 'status']).where('id', 'in', ids).execute()
    expect(rows.filter((r) => r.status !== 'delivered')).toEqual([])
    expect(rows).toHaveLength(MESSAGES)
  })
})
