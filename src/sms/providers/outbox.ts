import type { Db } from '../../infra/db/index.ts'
import type { PhoneVault } from '../phone-vault.ts'
import type { Sealer } from '../sealed.ts'
import type { SmsProvider } from './types.ts'

/**
 * "Delivers" into SQL (table sms_outbox, readable by admins): the default. A secret SMS (verification code) is
 * kept masked in `body` and, standing in for the phone, sealed in `sealed` (what tests read codes from). The
 * phone is sealed too, with its lookup HMAC beside it (phone-vault.ts).
 */
export function createOutboxProvider(db: Db, sealer: Sealer, phones: PhoneVault): SmsProvider {
  return {
    name: 'outbox',
    async send(sms) {
      const deliveredAt = new Date().toISOString()
      await db
        .insertInto('sms_outbox')
        .values(
          sms.parts.map((body, i) => ({
            sms_id: sms.smsId,
            part: i + 1,
            phone: phones.seal(sms.smsId, sms.phone),
            phone_hash: phones.lookup(sms.phone),
            body: sms.maskedParts?.[i] ?? body,
            sealed: sms.maskedParts ? sealer.seal(sms.smsId, body) : null,
            delivered_at: deliveredAt,
          })),
        )
        // A part already delivered stays delivered once: UNIQUE(sms_id, part).
        .onConflict((oc) => oc.columns(['sms_id', 'part']).doNothing())
        .execute()
    },
  }
}

export interface OutboxPart {
  smsId: string
  part: number
  /** Sealed (phone-vault.ts, bound to `smsId`). */
  phone: string
  body: string
  deliveredAt: string
}

/** The latest delivered parts, newest first, optionally for one phone (its lookup HMAC). */
export async function listOutbox(
  db: Db,
  query: { phoneHash?: string; limit: number },
): Promise<OutboxPart[]> {
  let select = db
    .selectFrom('sms_outbox')
    .select(['sms_id', 'part', 'phone', 'body', 'delivered_at'])
    .orderBy('id', 'desc')
    .limit(query.limit)
  if (query.phoneHash !== undefined) select = select.where('phone_hash', '=', query.phoneHash)
  const rows = await select.execute()
  return rows.map((r) => ({
    smsId: r.sms_id,
    part: r.part,
    phone: r.phone,
    body: r.body,
    deliveredAt: r.delivered_at,
  }))
}
