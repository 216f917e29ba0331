import { describe, expect, it } from 'vitest'
import {
  DELAY_ENTRY_EXCHANGE,
  DELAYED_DELIVERY_EXCHANGE,
  type DelayDeclarations,
  declarations,
  delayRoutingKey,
  levelName,
  MAX_DELAY_SECONDS,
  parseDelayRoutingKey,
} from '../../src/tasks/delay-routing.ts'

// Printed by Python with kombu's own formula: '.'.join(list(f'{n:028b}')) + '.celery'.
const KOMBU_KEYS: [number, string][] = [
  [1, '0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1.celery'],
  [10, '0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1.0.1.0.celery'],
  [3600, '0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1.1.1.0.0.0.0.1.0.0.0.0.celery'],
  [86400, '0.0.0.0.0.0.0.0.0.0.0.1.0.1.0.1.0.0.0.1.1.0.0.0.0.0.0.0.celery'],
  [134217728, '1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.celery'],
  [268435455, '1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.celery'],
]

describe('delayRoutingKey', () => {
  it.each(KOMBU_KEYS)('%i s is the key kombu computes', (seconds, key) => {
    expect(delayRoutingKey(seconds, 'celery')).toBe(key)
  })

  it('rounds a fraction up so the message is never early', () => {
    expect(delayRoutingKey(0.2, 'q')).toBe(delayRoutingKey(1, 'q'))
    expect(delayRoutingKey(9.001, 'q')).toBe(delayRoutingKey(10, 'q'))
  })

  it('keeps a dotted routing key whole', () => {
    expect(delayRoutingKey(1, 'a.b').endsWith('.1.a.b')).toBe(true)
  })

  it.each([0, -1, Number.NaN, Number.POSITIVE_INFINITY, MAX_DELAY_SECONDS + 1])(
    'refuses a delay of %s',
    (s) => {
      expect(() => delayRoutingKey(s, 'celery')).toThrow(RangeError)
    },
  )

  it('refuses an empty or over-long routing key', () => {
    expect(() => delayRoutingKey(5, '')).toThrow(RangeError)
    expect(() => delayRoutingKey(5, 'q'.repeat(200))).toThrow(RangeError)
    expect(delayRoutingKey(5, 'q'.repeat(199))).toHaveLength(255)
  })

  it('publishes into the top level, as Celery does', () => {
    expect(DELAY_ENTRY_EXCHANGE).toBe('celery_delayed_27')
    expect(MAX_DELAY_SECONDS).toBe(268435455)
  })
})

describe('parseDelayRoutingKey', () => {
  it.each(KOMBU_KEYS)('reads back %i s', (seconds, key) => {
    expect(parseDelayRoutingKey(key)).toEqual({ delaySeconds: seconds, routingKey: 'celery' })
  })
  it.each(['celery', '0.1.celery', `${'0.'.repeat(27)}2.celery`, `${'0.'.repeat(27)}1`])(
    'ignores %j',
    (key) => {
      expect(parseDelayRoutingKey(key)).toBeNull()
    },
  )
})

describe('declarations', () => {
  const d = declarations({ targetQueues: ['celery', 'custom_q'] })

  it('declares kombu objects: 28 levels and the delivery exchange', () => {
    expect(d.exchanges.map((e) => e.exchange)).toEqual([
      ...Array.from({ length: 28 }, (_, i) => `celery_delayed_${27 - i}`),
      'celery_delayed_delivery',
    ])
    for (const e of d.exchanges) expect(e).toMatchObject({ type: 'topic', durable: true, autoDelete: false })
    expect(d.queues).toHaveLength(28)
    expect(d.exchangeBindings).toHaveLength(28)
    expect(d.queueBindings).toHaveLength(30)
  })

  it.each(Array.from({ length: 28 }, (_, level) => level))(
    'level %i: TTL 2^N s, dead-letters one level down',
    (level) => {
      const q = d.queues.find((x) => x.queue === `celery_delayed_${level}`)
      expect(q).toEqual({
        queue: `celery_delayed_${level}`,
        durable: true,
        exclusive: false,
        autoDelete: false,
        arguments: {
          'x-queue-type': 'classic',
          'x-overflow': 'reject-publish',
          'x-message-ttl': 2 ** level * 1000,
          'x-dead-letter-exchange': level === 0 ? 'celery_delayed_delivery' : `celery_delayed_${level - 1}`,
        },
      })
    },
  )

  it('binds with kombu keys', () => {
    const star27 = '*.'.repeat(27)
    expect(d.queueBindings).toContainEqual({
      queue: 'celery_delayed_27',
      exchange: 'celery_delayed_27',
      routingKey: '1.#',
    })
    expect(d.queueBindings).toContainEqual({
      queue: 'celery_delayed_0',
      exchange: 'celery_delayed_0',
      routingKey: `${star27}1.#`,
    })
    expect(d.exchangeBindings).toContainEqual({
      destination: 'celery_delayed_26',
      source: 'celery_delayed_27',
      routingKey: '0.#',
    })
    expect(d.exchangeBindings).toContainEqual({
      destination: 'celery_delayed_delivery',
      source: 'celery_delayed_0',
      routingKey: `${star27}0.#`,
    })
    expect(d.queueBindings).toContainEqual({
      queue: 'celery',
      exchange: 'celery_delayed_delivery',
      routingKey: '#.celery',
    })
  })

  it('quorum queues add at-least-once dead-lettering', () => {
    const q = declarations({ queueType: 'quorum' }).queues
    for (const x of q)
      expect(x.arguments).toMatchObject({
        'x-queue-type': 'quorum',
        'x-dead-letter-strategy': 'at-least-once',
      })
    expect(declarations().queues[0]?.arguments).not.toHaveProperty('x-dead-letter-strategy')
  })

  it('names only 28 levels', () => {
    expect(levelName(0)).toBe('celery_delayed_0')
    expect(() => levelName(28)).toThrow(RangeError)
    expect(() => levelName(-1)).toThrow(RangeError)
  })
})

// RabbitMQ topic matching: `*` is one word, `#` zero or more.
function topicMatch(pattern: string, key: string): boolean {
  const match = (p: string[], k: string[]): boolean => {
    if (p.length === 0) return k.length === 0
    const [head, ...rest] = p
    if (head === '#') return match(rest, k) || (k.length > 0 && match(p, k.slice(1)))
    return k.length > 0 && (head === '*' || head === k[0]) && match(rest, k.slice(1))
  }
  return match(pattern.split('.'), key.split('.'))
}

// Follow a message through the declared topology: each hop routes, waits out a queue's TTL, dead-letters on.
function deliver(d: DelayDeclarations, exchange: string, key: string): { queues: string[]; waited: number } {
  const route = (ex: string): string[] => [
    ...d.queueBindings
      .filter((b) => b.exchange === ex && topicMatch(b.routingKey ?? '', key))
      .map((b) => b.queue ?? ''),
    ...d.exchangeBindings
      .filter((b) => b.source === ex && topicMatch(b.routingKey ?? '', key))
      .flatMap((b) => route(b.destination)),
  ]
  let waited = 0
  let queues = route(exchange)
  for (let hops = 0; hops < 40; hops++) {
    const delayQueue = d.queues.find((q) => queues.length === 1 && q.queue === queues[0])
    if (!delayQueue) return { queues, waited }
    waited += (delayQueue.arguments?.['x-message-ttl'] as number) / 1000
    queues = route(delayQueue.arguments?.['x-dead-letter-exchange'] as string)
  }
  throw new Error('message loops')
}

describe('the topology delivers after exactly the delay', () => {
  const d = declarations({ targetQueues: ['celery', 'custom_q'] })
  const delays = [1, 2, 3, 7, 10, 59, 60, 3600, 86_400, 1_000_003, 2 ** 27, MAX_DELAY_SECONDS]

  it.each(delays)('%i s', (seconds) => {
    expect(deliver(d, DELAY_ENTRY_EXCHANGE, delayRoutingKey(seconds, 'celery'))).toEqual({
      queues: ['celery'],
      waited: seconds,
    })
  })

  it('routes to the right target queue only', () => {
    expect(deliver(d, DELAY_ENTRY_EXCHANGE, delayRoutingKey(5, 'custom_q'))).toEqual({
      queues: ['custom_q'],
      waited: 5,
    })
  })

  it('drops a message for a queue nobody bound (like RabbitMQ would)', () => {
    expect(deliver(d, DELAY_ENTRY_EXCHANGE, delayRoutingKey(3, 'other'))).toEqual({ queues: [], waited: 3 })
  })

  it('covers the whole range', () => {
    expect(DELAYED_DELIVERY_EXCHANGE).toBe('celery_delayed_delivery')
    for (let i = 0; i < 200; i++) {
      const seconds = 1 + Math.floor(Math.random() * MAX_DELAY_SECONDS)
      expect(deliver(d, DELAY_ENTRY_EXCHANGE, delayRoutingKey(seconds, 'celery')).waited).toBe(seconds)
    }
  })
})
