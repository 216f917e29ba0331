import { expect } from 'vitest'
import type { TestApp } from './app.ts'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Answers of a view load so far: per-item views answered 200 (acknowledged) and otherwise (outcome unknown). */
export interface ViewLoad {
  acked: Map<number, number>
  unknown: Map<number, number>
  statuses: Map<number, number>
  /** The longest a view took to be answered, ms. */
  slowest: () => number
  /** 200 answers so far. */
  ok: () => number
  /** Stops the clients and waits for their last answers. */
  stop(): Promise<void>
}

/**
 * `clients` concurrent viewers of random items of `ids`, until stopped: the load both fail-over tests (Sentinel,
 * Redis Cluster) and the cluster faults run. A client backs off 20 ms after an answer other than 200.
 */
export function startViewLoad(app: TestApp, ids: number[], clients: number): ViewLoad {
  const acked = new Map<number, number>(ids.map((id) => [id, 0]))
  const unknown = new Map<number, number>()
  const statuses = new Map<number, number>()
  let slowest = 0
  let stopped = false
  const viewer = async (c: number) => {
    while (!stopped) {
      const id = ids[Math.floor(Math.random() * ids.length)] as number
      const t0 = Date.now()
      const res = await app.http.inject({
        method: 'POST',
        url: `/api/items/${id}/views`,
        payload: { visitorId: `v${c}` },
      })
      slowest = Math.max(slowest, Date.now() - t0)
      statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1)
      const into = res.statusCode === 200 ? acked : unknown
      into.set(id, (into.get(id) ?? 0) + 1)
      if (res.statusCode !== 200) await sleep(20)
    }
  }
  const running = Promise.all(Array.from({ length: clients }, (_, c) => viewer(c)))
  return {
    acked,
    unknown,
    statuses,
    slowest: () => slowest,
    ok: () => statuses.get(200) ?? 0,
    async stop() {
      stopped = true
      await running
    },
  }
}

/** Creates `count` articles to view; their ids. */
export async function createItems(app: TestApp, count: number, title: string): Promise<number[]> {
  const ids: number[] = []
  for (let i = 0; i < count; i++) {
    const res = await app.http.inject({
      method: 'POST',
      url: '/api/items',
      headers: app.auth,
      payload: { kind: 'article', title: `${title} ${i}` },
    })
    ids.push(res.json().id)
  }
  return ids
}

/**
 * Compares each item's count with the load's answers: a view answered other than 200 may have been applied
 * before the fault (it may count, never more than those). Returns the acknowledged views missing (`lost`) and
 * the unacknowledged ones that counted (`extra`).
 */
export async function checkViewCounts(
  app: TestApp,
  load: ViewLoad,
): Promise<{ lost: number; extra: number }> {
  let lost = 0
  let extra = 0
  for (const [id, ok] of load.acked) {
    const res = await app.http.inject({ method: 'GET', url: `/api/items/${id}` })
    expect(res.statusCode).toBe(200)
    const views = res.json().views as number
    lost += Math.max(0, ok - views)
    extra += Math.max(0, views - ok)
    expect({ id, overcount: views - ok > (load.unknown.get(id) ?? 0) }).toEqual({ id, overcount: false })
  }
  return { lost, extra }
}

export const total = (counts: Map<number, number>) => [...counts.values()].reduce((a, b) => a + b, 0)
