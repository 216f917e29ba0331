import smpp, { type Pdu, type Session } from 'smpp'
import type { Logger } from '../../infra/logger.ts'
import { segment } from '../segment.ts'
import { GatewayError } from './errors.ts'
import type { SmsProvider } from './types.ts'

/**
 * SMPP 3.4 (the SMPP v3.4 specification; the `smpp` package implements its PDUs): one bound transceiver kept open
 * with enquire_link and re-bound when lost; each part is a `submit_sm` — concatenated parts carry a UDH (IEI 0x00:
 * reference, total, sequence) on the segment boundaries hotspot computes, UCS-2 is data_coding 8 — and asks for a
 * delivery receipt (registered_delivery 1), which comes back as a `deliver_sm` (esm_class 0x04).
 * ESME_RTHROTTLED is backed off and retried on the same bind.
 */
export interface SmppSettings {
  /** smpp://system_id:password@host:port */
  url: string
  sourceAddr?: string
  enquireLinkMs: number
}

export interface SmppReceipt {
  messageId: string
  delivered: boolean
  error?: string
}

const THROTTLE_RETRIES = 5
const FINAL_STATUSES = new Set([
  smpp.ESME_RINVDSTADR,
  0x0a /* ESME_RINVSRCADR */,
  0x45 /* ESME_RSUBMITFAIL */,
])

/** `id:… sub:… dlvr:… submit date:… done date:… stat:DELIVRD err:000 text:…` (SMPP 3.4 appendix B). */
function parseReceiptText(text: string): { id?: string; stat?: string; err?: string } {
  const field = (name: string) => new RegExp(`(?:^|\\s)${name}:(\\S+)`, 'i').exec(text)?.[1]
  return { id: field('id'), stat: field('stat'), err: field('err') }
}

export function createSmppProvider(
  settings: SmppSettings,
  timeoutMs: number,
  options: { log: Logger; onReceipt: (receipt: SmppReceipt) => Promise<unknown> },
): SmsProvider & { close(): Promise<void> } {
  const url = new URL(settings.url)
  const credentials = {
    system_id: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
  }
  let bound: Promise<Session> | undefined
  let closed = false
  let reference = Math.floor(Math.random() * 256)
  // A receipt can overtake the SQL write of its part's message id: receipts wait for the writes under way.
  let recording: Promise<unknown> = Promise.resolve()

  function bind(): Promise<Session> {
    bound ??= new Promise<Session>((resolve, reject) => {
      const session = smpp.connect({
        host: url.hostname,
        port: Number(url.port || 2775),
        auto_enquire_link_period: settings.enquireLinkMs,
      })
      const timer = setTimeout(
        () => fail(new GatewayError('smpp', 'retry', `no bind within ${timeoutMs} ms`)),
        timeoutMs,
      )
      const fail = (error: GatewayError) => {
        clearTimeout(timer)
        bound = undefined
        session.destroy()
        reject(error)
      }
      session.on('error', () => fail(new GatewayError('smpp', 'retry', 'connection failed')))
      session.on('close', () => {
        // The next send binds again (reconnect on loss).
        bound = undefined
        if (!closed) options.log.warn({ gateway: 'smpp' }, 'SMPP bind lost; the next message binds again')
      })
      session.on('deliver_sm', (pdu: Pdu) => {
        session.send(pdu.response())
        void handleDeliver(pdu)
      })
      session.on('connect', () => {
        session.bind_transceiver(credentials, (pdu) => {
          if (pdu.command_status !== smpp.ESME_ROK)
            return fail(
              new GatewayError('smpp', 'final', `bind refused (status ${pdu.command_status})`, undefined, {
                account: true,
              }),
            )
          clearTimeout(timer)
          resolve(session)
        })
      })
    })
    return bound
  }

  async function handleDeliver(pdu: Pdu) {
    // Only delivery receipts (esm_class bit 0x04); mobile-originated messages are not hotspot's business.
    if (((pdu.esm_class ?? 0) & 0x04) === 0) return
    const sm = pdu.short_message
    const text = sm && !Buffer.isBuffer(sm) ? String(sm.message ?? '') : String(sm ?? '')
    const parsed = parseReceiptText(text)
    const messageId = pdu.receipted_message_id ?? parsed.id
    if (!messageId) return
    // The submit_sm_resp and this deliver_sm can arrive in one read: let the submit's continuation start its
    // SQL write of the message id (it runs after this event), then wait for the writes under way. An id still
    // unknown is retried a few times before the receipt is given up (an SMSC's receipt for a stranger's id).
    await new Promise((resolve) => setImmediate(resolve))
    const stat = (parsed.stat ?? '').toUpperCase()
    const receipt = {
      messageId,
      delivered: stat === 'DELIVRD',
      ...(stat === 'DELIVRD' ? {} : { error: `smpp receipt ${stat || 'UNKNOWN'} err ${parsed.err ?? '?'}` }),
    }
    try {
      for (let attempt = 0; attempt < 5; attempt++) {
        await recording
        if ((await options.onReceipt(receipt)) !== undefined) return
        await new Promise((resolve) => setTimeout(resolve, 200 * (attempt + 1)))
      }
      options.log.warn({ gateway: 'smpp' }, 'SMPP receipt for an unknown message id, ignored')
    } catch (error) {
      options.log.warn({ gateway: 'smpp', err: error }, 'SMPP receipt not recorded')
    }
  }

  function submit(session: Session, params: Record<string, unknown>): Promise<Pdu> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new GatewayError('smpp', 'retry', `no submit_sm_resp within ${timeoutMs} ms`)),
        timeoutMs,
      )
      session.submit_sm(params, (pdu) => {
        clearTimeout(timer)
        resolve(pdu)
      })
    })
  }

  return {
    name: 'smpp',
    async send(sms) {
      const { encoding } = segment(sms.parts.join(''))
      const total = sms.parts.length
      reference = (reference + 1) % 256
      for (let i = 0; i < total; i++) {
        if (sms.sentParts?.has(i)) continue
        const message = sms.parts[i] as string
        const params: Record<string, unknown> = {
          source_addr: settings.sourceAddr ?? '',
          destination_addr: sms.phone.slice(1),
          dest_addr_ton: 1, // international
          dest_addr_npi: 1, // E.164
          registered_delivery: 1,
          data_coding: encoding === 'UCS-2' ? 8 : 0,
          short_message:
            total > 1
              ? { udh: Buffer.from([0x05, 0x00, 0x03, reference, total, i + 1]), message }
              : { message },
        }
        for (let attempt = 0; ; attempt++) {
          const session = await bind()
          const pdu = await submit(session, params)
          if (pdu.command_status === smpp.ESME_ROK && pdu.message_id) {
            const record = sms.onPartSent?.(i, 'smpp', pdu.message_id) ?? Promise.resolve()
            recording = Promise.all([recording, record]).catch(() => {})
            await record
            break
          }
          if (pdu.command_status === smpp.ESME_RTHROTTLED) {
            if (attempt >= THROTTLE_RETRIES)
              throw new GatewayError('smpp', 'throttled', 'ESME_RTHROTTLED', '0x58')
            await new Promise((r) => setTimeout(r, 100 * 2 ** attempt))
            continue
          }
          const kind = FINAL_STATUSES.has(pdu.command_status) ? 'final' : 'retry'
          // A source address the SMSC refuses is this bind's sender, not the message.
          throw new GatewayError(
            'smpp',
            kind,
            `submit_sm status 0x${pdu.command_status.toString(16)}`,
            undefined,
            {
              account: pdu.command_status === 0x0a,
            },
          )
        }
      }
    },
    async close() {
      closed = true
      const session = await bound?.catch(() => undefined)
      await new Promise<void>((resolve) => (session ? session.close(() => resolve()) : resolve()))
    },
  }
}
