import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createLogger } from '../../../src/infra/logger.ts'
import { createSmppProvider, type SmppReceipt } from '../../../src/sms/providers/smpp.ts'
import { segment } from '../../../src/sms/segment.ts'
import { dbKinds, startTestApp, type TestApp } from '../../support/app.ts'
import { eventually, getSms, randomPhone, sendSms } from '../support.ts'
import { startSmsc } from './smsc-server.ts'

const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

async function setup(opts: { throttle?: number; stat?: string; password?: string } = {}) {
  const smsc = await startSmsc(opts)
  const receipts: SmppReceipt[] = []
  const provider = createSmppProvider(
    { url: `smpp://hotspot:${opts.password ?? 'secret12'}@127.0.0.1:${smsc.port}`, enquireLinkMs: 1000 },
    2000,
    { log: createLogger('silent'), onReceipt: async (r) => receipts.push(r) },
  )
  cleanups.push(smsc.close, provider.close)
  return { smsc, provider, receipts }
}

describe('SMPP gateway against an SMSC on the smpp package', () => {
  it('sends a long UCS-2 message as UDH-concatenated parts on hotspot boundaries, data_coding 8, with receipts', async () => {
    const { smsc, provider, receipts } = await setup()
    const text = '您好，这是一条很长的消息。'.repeat(12)
    const { parts, encoding } = segment(text)
    expect(encoding).toBe('UCS-2')
    expect(parts.length).toBeGreaterThan(1)
    const recorded: [number, string][] = []
    await provider.send({
      smsId: 's1',
      phone: '+8613912345678',
      parts,
      attempt: 1,
      onPartSent: async (part, _gw, id) => {
        recorded.push([part, id])
      },
    })
    expect(recorded.map(([p]) => p)).toEqual(parts.map((_, i) => i))
    expect(smsc.submitted).toHaveLength(parts.length)
    smsc.submitted.forEach((pdu, i) => {
      expect(pdu.data_coding).toBe(8)
      expect(pdu.destination_addr).toBe('8613912345678')
      expect((pdu.esm_class ?? 0) & 0x40).toBe(0x40)
      const sm = pdu.short_message as { message: string; udh: Buffer[] }
      const udh = sm.udh[0] as Buffer
      expect([udh[0], udh[1], udh[3], udh[4]]).toEqual([0x00, 0x03, parts.length, i + 1])
      expect(sm.message).toBe(parts[i])
    })
    await eventually(async () => (receipts.length === parts.length ? true : undefined))
    expect(receipts.every((r) => r.delivered)).toBe(true)
    expect(receipts.map((r) => r.messageId).sort()).toEqual(recorded.map(([, id]) => id).sort())
  })

  it('undelivered receipts carry the SMSC status', async () => {
    const { provider, receipts } = await setup({ stat: 'UNDELIV' })
    await provider.send({ smsId: 's2', phone: '+8613912345678', parts: ['hello'], attempt: 1 })
    await eventually(async () => (receipts.length === 1 ? true : undefined))
    expect(receipts[0]).toMatchObject({ delivered: false, error: expect.stringMatching(/UNDELIV/) })
  })

  it('ESME_RTHROTTLED is backed off and retried on the same bind', async () => {
    const { smsc, provider } = await setup({ throttle: 2 })
    await provider.send({ smsId: 's3', phone: '+8613912345678', parts: ['hi'], attempt: 1 })
    expect(smsc.submitted).toHaveLength(1)
    expect(smsc.binds).toBe(1)
  })

  it('binds again after the SMSC drops the bind; parts already taken are not resent', async () => {
    const { smsc, provider } = await setup()
    await provider.send({ smsId: 's4', phone: '+8613912345678', parts: ['one'], attempt: 1 })
    smsc.dropBinds()
    await eventually(async () => {
      const ok = await provider
        .send({
          smsId: 's5',
          phone: '+8613912345678',
          parts: ['a', 'b'],
          attempt: 1,
          sentParts: new Set([0]),
        })
        .then(() => true)
        .catch(() => undefined)
      return ok
    })
    expect(smsc.binds).toBe(2)
    expect(smsc.submitted.map((p) => (p.short_message as { message: string }).message)).toEqual(['one', 'b'])
  })

  it('a wrong password is a final bind refusal', async () => {
    const { provider } = await setup({ password: 'wrong' })
    await expect(
      provider.send({ smsId: 's6', phone: '+8613912345678', parts: ['x'], attempt: 1 }),
    ).rejects.toMatchObject({
      kind: 'final',
    })
  })
})

describe.each(dbKinds)('SMS_PROVIDER=smpp end to end on %s', (db) => {
  let app: TestApp
  let smsc: Awaited<ReturnType<typeof startSmsc>>
  beforeAll(async () => {
    smsc = await startSmsc()
    app = await startTestApp({
      db,
      env: { SMS_PROVIDER: 'smpp', SMPP_URL: `smpp://hotspot:secret12@127.0.0.1:${smsc.port}` },
    })
    await app.start(['worker'])
  })
  afterAll(async () => {
    await app?.close()
    await smsc?.close()
  })

  it('POST /api/sms → submit_sm parts → deliver_sm receipts → delivered, with the message ids', async () => {
    const phone = randomPhone()
    const content = '您好，这是一条很长的消息。'.repeat(8)
    const { id, segments } = (await sendSms(app, { phone, content })).json()
    expect(segments).toBeGreaterThan(1)
    const sms = await eventually(async () => {
      const view = await getSms(app, id)
      return view.status === 'delivered' ? view : undefined
    })
    expect(sms.gateway).toBe('smpp')
    expect(sms.receipts).toHaveLength(segments)
    expect(sms.receipts.every((r: { status: string }) => r.status === 'delivered')).toBe(true)
    const mine = smsc.submitted.filter((p) => p.destination_addr === `86${phone}`)
    expect(mine).toHaveLength(segments)
  })
})
