import { describe, expect, it } from 'vitest'
import { createLogger } from '../../src/infra/logger.ts'
import { createSoldOutMemory, RESTOCK_TOPIC } from '../../src/seckill/sold-out.ts'
import type { EventBus } from '../../src/tasks/types.ts'

/**
 * The memory's own rules, in one process, on a clock the test moves: the bus here only delivers what this
 * process publishes (sold-out.test.ts runs two processes over the real events bus).
 */
function setup(trustMs = 1000) {
  const listeners = new Map<string, ((payload: unknown) => void)[]>()
  const bus: EventBus = {
    publish: async (topic, payload) => {
      for (const listener of listeners.get(topic) ?? []) listener(payload)
    },
    on: (topic, listener) => {
      listeners.set(topic, [...(listeners.get(topic) ?? []), listener])
      return () => {}
    },
  }
  let clock = 0
  const memory = createSoldOutMemory({ events: bus, log: createLogger('silent'), trustMs, now: () => clock })
  return { memory, bus, tick: (ms: number) => (clock += ms) }
}

describe('the sold-out memory', () => {
  it('remembers a sold-out answer for trustMs, then asks Redis again', () => {
    const { memory, tick } = setup(1000)
    memory.remember(7, memory.ticket(7))
    expect(memory.isSoldOut(7)).toBe(true)
    expect(memory.isSoldOut(8)).toBe(false)
    tick(999)
    expect(memory.isSoldOut(7)).toBe(true)
    tick(1)
    expect(memory.isSoldOut(7)).toBe(false)
  })

  it('a restock heard from another process forgets the product at once', async () => {
    const { memory, bus } = setup(60_000)
    memory.remember(7, memory.ticket(7))
    await bus.publish(RESTOCK_TOPIC, { productId: 7 })
    expect(memory.isSoldOut(7)).toBe(false)
  })

  it('a sold-out answer asked before a restock and heard after it is not remembered (units are back)', async () => {
    const { memory, bus } = setup(60_000)
    // An attempt asks Redis (sold out there); while its answer travels, a restock comes, here or elsewhere.
    const local = memory.ticket(7)
    memory.restocked(7)
    memory.remember(7, local)
    expect(memory.isSoldOut(7)).toBe(false)
    const remote = memory.ticket(7)
    await bus.publish(RESTOCK_TOPIC, { productId: 7 })
    memory.remember(7, remote)
    expect(memory.isSoldOut(7)).toBe(false)
    // An attempt asked after the restock that Redis still refuses is remembered as before.
    memory.remember(7, memory.ticket(7))
    expect(memory.isSoldOut(7)).toBe(true)
  })
})
