import { Redis } from 'ioredis'
import { parseSentinelUrl } from '../infra/sentinel-url.ts'
import type { CheckResult } from './checks.ts'

/** Sentinel's replies are flat [name, value, name, value, …] lists. */
function record(flat: unknown): Record<string, string> {
  const list = Array.isArray(flat) ? (flat as string[]) : []
  const out: Record<string, string> = {}
  for (let i = 0; i + 1 < list.length; i += 2) out[list[i] as string] = list[i + 1] as string
  return out
}

/**
 * What the first answering sentinel knows: the master, its replicas and the quorum, and whether enough
 * sentinels are up to elect a new master (SENTINEL CKQUORUM). Fewer than three sentinels, or an even number,
 * is called out: two sentinels cannot outvote one lost on the master's side of a partition.
 */
export async function checkSentinel(url: string): Promise<CheckResult[]> {
  const target = parseSentinelUrl(url)
  for (const { host, port } of target.sentinels) {
    const s = new Redis({
      host,
      port,
      username: target.username,
      password: target.password,
      lazyConnect: true,
      commandTimeout: 2000,
      connectTimeout: 2000,
      retryStrategy: () => null,
      maxRetriesPerRequest: 0,
    })
    s.on('error', () => {})
    try {
      await s.connect()
      const master = record(await s.call('SENTINEL', 'MASTER', target.masterName))
      const replicas = ((await s.call('SENTINEL', 'REPLICAS', target.masterName)) as unknown[]).map(record)
      const quorum = await s
        .call('SENTINEL', 'CKQUORUM', target.masterName)
        .then((r) => ({ ok: true, text: String(r) }))
        .catch((e: Error) => ({ ok: false, text: e.message }))
      const sentinels = Number(master['num-other-sentinels'] ?? 0) + 1
      const online = replicas.filter((r) => !/s_down|o_down|disconnected/.test(r.flags ?? ''))
      const down = /s_down|o_down/.test(master.flags ?? '')
      const enough = sentinels >= 3 && sentinels % 2 === 1
      return [
        {
          name: 'sentinel master',
          ok: !down,
          detail: `${target.masterName} is ${master.ip}:${master.port}${down ? ', seen down' : ''}; replicas ${
            replicas.map((r) => `${r.ip}:${r.port}${online.includes(r) ? '' : ' (down)'}`).join(', ') ||
            'none'
          }`,
        },
        {
          name: 'sentinel quorum',
          ok: quorum.ok && enough && online.length > 0,
          detail: `${sentinels} sentinels, quorum ${master.quorum}, ${online.length} replica(s) online: ${quorum.text}${
            enough ? '' : '; run at least three sentinels, an odd number'
          }${online.length > 0 ? '' : '; with no replica there is nothing to promote'}`,
        },
      ]
    } catch {
      // Try the next sentinel of the list.
    } finally {
      s.disconnect()
    }
  }
  return [{ name: 'sentinel', ok: false, detail: 'no sentinel of REDIS_URL answers' }]
}
