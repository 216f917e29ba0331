import { afterEach, describe, expect, it } from 'vitest'
import { createMetrics } from '../../../src/infra/metrics.ts'
import { GatewayError } from '../../../src/sms/providers/errors.ts'
import { createFailoverProvider } from '../../../src/sms/providers/failover.ts'
import { createIhuyiProvider } from '../../../src/sms/providers/ihuyi.ts'
import { type OutgoingSms, partsAlreadySent } from '../../../src/sms/providers/types.ts'
import { sleep } from '../support.ts'
import { startIhuyiServer } from './ihuyi-server.ts'

// Fail-over between two gateways (issue 20 item 6), each a strict ihuyi stand-in on its own port.
const creds = { account: 'C1', password: 'key-0123456789' }
type Server = Awaited<ReturnType<typeof startIhuyiServer>>
const servers: Server[] = []
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()))
})

async function twoGateways(breaker = { failures: 2, openMs: 300 }) {
  const a = await startIhuyiServer(creds)
  const b = await startIhuyiServer(creds)
  servers.push(a, b)
  const gateway = (name: string, server: Server) => ({
    ...createIhuyiProvider({ ...creds, url: server.url }, 1000),
    name,
  })
  const metrics = createMetrics()
  const provider = createFailoverProvider([gateway('a', a), gateway('b', b)], breaker, metrics)
  return { a, b, provider, metrics }
}

function sms(recorded: string[][]): OutgoingSms {
  return {
    smsId: 'sms-1',
    phone: '+8613912345678',
    parts: ['hello'],
    attempt: 1,
    onPartSent: async (part, gateway, id) => {
      recorded.push([String(part), gateway, id])
    },
  }
}

describe('SMS gateway fail-over', () => {
  it('moves on to the next gateway when one is down, and the SMS goes out exactly once', async () => {
    const { a, b, provider, metrics } = await twoGateways()
    await a.close() // down: connection refused
    const recorded: string[][] = []
    await provider.send(sms(recorded))
    expect(b.accepted).toHaveLength(1)
    expect(recorded).toEqual([['0', 'ihuyi', b.accepted[0]?.smsid]])
    const text = await metrics.registry.metrics()
    expect(text).toMatch(/hotspot_sms_gateway_failed_total\{gateway="a",kind="retry"\} 1/)
    expect(text).toMatch(/hotspot_sms_gateway_sent_total\{gateway="b"\} 1/)
  })

  it('moves on when a gateway throttles; stops at a final refusal without trying the next', async () => {
    const { a, b, provider } = await twoGateways()
    a.script.push({ code: 4081, msg: '同一手机号码一分钟之内发送频率不能超过1条' })
    await provider.send(sms([]))
    expect([a.accepted.length, b.accepted.length]).toEqual([0, 1])

    a.script.push({ code: 406, msg: '手机格式不正确' })
    const refused = await provider.send(sms([])).catch((e: unknown) => e)
    expect(refused).toBeInstanceOf(GatewayError)
    expect((refused as GatewayError).kind).toBe('final')
    expect(b.accepted).toHaveLength(1) // b was not asked
  })

  it("moves on past a refusal of a gateway's own account (no balance); fails only when every account refuses", async () => {
    const { a, b, provider, metrics } = await twoGateways()
    a.script.push({ code: 4051, msg: '剩余条数不足' })
    await provider.send(sms([]))
    expect([a.accepted.length, b.accepted.length]).toEqual([0, 1])
    expect(await metrics.registry.metrics()).toMatch(
      /hotspot_sms_gateway_failed_total\{gateway="a",kind="final"\} 1/,
    )

    a.script.push({ code: 4051, msg: '剩余条数不足' })
    b.script.push({ code: 405, msg: 'API ID 或 API KEY 不正确' })
    const refused = await provider.send(sms([])).catch((e: unknown) => e)
    expect(refused).toMatchObject({ kind: 'final', account: true, code: '405' })
    expect(b.accepted).toHaveLength(1)

    // One account refuses, the other gateway is down: later may work, so it is retried, not failed.
    a.script.push({ code: 4051, msg: '剩余条数不足' })
    await b.close()
    const later = await provider.send(sms([])).catch((e: unknown) => e)
    expect(later).toMatchObject({ kind: 'retry' })
  })

  it('a whole-text gateway never takes over a message another gateway began in parts', async () => {
    const { a, b, provider } = await twoGateways()
    const error = await provider
      .send({ ...sms([]), parts: ['first half', 'second half'], sentParts: new Set([0]) })
      .catch((e: unknown) => e)
    expect(error).toMatchObject({ kind: 'retry' })
    expect(a.requests + b.requests).toBe(0)
  })

  it('a whole text a gateway took stands for every part; parts gateways count part by part', () => {
    expect(partsAlreadySent([{ part: 0, gateway: 'ihuyi' }], 3)).toEqual(new Set([0, 1, 2]))
    expect(partsAlreadySent([{ part: 0, gateway: 'smpp' }], 3)).toEqual(new Set([0]))
    expect(partsAlreadySent([], 3)).toEqual(new Set())
  })

  it('a part a gateway already took is never sent again, by any gateway', async () => {
    const { a, b, provider } = await twoGateways()
    await provider.send({ ...sms([]), sentParts: new Set([0]) })
    expect(a.requests + b.requests).toBe(0)
  })

  it('opens the breaker after N failures (the gateway is skipped), probes it half-open, closes on success', async () => {
    const { a, b, provider, metrics } = await twoGateways({ failures: 2, openMs: 300 })
    a.script.push('html-502', 'html-502')
    await provider.send(sms([]))
    await provider.send(sms([]))
    expect(a.requests).toBe(2)
    await provider.send(sms([]))
    expect(a.requests).toBe(2) // open: not asked
    expect(await metrics.registry.metrics()).toMatch(/hotspot_sms_gateway_breaker_state\{gateway="a"\} 2/)
    await sleep(350)
    await provider.send(sms([])) // half-open probe, a answers
    expect(a.requests).toBe(3)
    expect(a.accepted).toHaveLength(1)
    expect(b.accepted).toHaveLength(3)
    expect(await metrics.registry.metrics()).toMatch(/hotspot_sms_gateway_breaker_state\{gateway="a"\} 0/)
  })

  it('every gateway down: a retryable error, nothing sent', async () => {
    const { a, b, provider } = await twoGateways()
    await a.close()
    await b.close()
    const error = await provider.send(sms([])).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(GatewayError)
    expect((error as GatewayError).kind).toBe('retry')
  })
})
