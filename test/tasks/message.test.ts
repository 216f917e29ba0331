import { readdirSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { describe, expect, it } from 'vitest'
import {
  decodeTask,
  type EncodeTaskOptions,
  encodeTask,
  type IncomingProperties,
  parseIsoDate,
  pyIsoformat,
  pyJsonDumps,
  pyRepr,
} from '../../src/tasks/message.ts'

// Real Celery 5.2.6 captures (test/fixtures/celery/README.md).
const FIXTURES = new URL('../fixtures/celery/fixtures/', import.meta.url)
const readText = (name: string): string => readFileSync(new URL(name, FIXTURES), 'utf8')
const readJson = <T>(name: string): T => JSON.parse(readText(name)) as T

type Headers = Record<string, unknown> & {
  task: string
  id: string
  eta: string | null
  expires: string | null
  timelimit: [number | null, number | null]
  argsrepr: string
}
interface PyProperties {
  content_type?: string | null
  content_encoding?: string | null
  headers?: Record<string, unknown>
  priority?: number | null
  correlation_id?: string | null
  reply_to?: string | null
  expiration?: string | null
}
interface Capture {
  headers: Headers
  props: PyProperties
  bodyText: string
  body: [unknown[], Record<string, unknown>, Record<string, unknown>]
}

// Client captures keep `properties` (headers inside); worker captures `properties_plain` + `headers_plain`.
function capture(file: string): Capture {
  const raw = readJson<Record<string, unknown>>(file)
  const props = (raw.properties ?? raw.properties_plain) as PyProperties
  const headers = (props.headers ?? raw.headers_plain) as Headers
  return { headers, props, bodyText: raw.body_text as string, body: raw.body_decoded as Capture['body'] }
}

function amqp(p: PyProperties, headers = p.headers): IncomingProperties {
  return {
    contentType: p.content_type ?? undefined,
    contentEncoding: p.content_encoding ?? undefined,
    headers,
    correlationId: p.correlation_id ?? undefined,
    replyTo: p.reply_to ?? undefined,
    priority: p.priority ?? undefined,
  }
}

// Oracle independent of the code under test: V8's own parser on the string cut to milliseconds.
const isoMs = (iso: string): number => Date.parse(iso.replace(/(\.\d{3})\d*/, '$1'))
// What a microsecond ISO time becomes when it passes through a JS Date.
const toMsPrecision = (iso: string): string => iso.replace(/\.(\d{3})\d{3}/, '.$1000')
// bigint → number, to compare wire-safe headers with captured JSON.
const plain = (v: unknown): unknown =>
  typeof v === 'bigint' ? Number(v) : Array.isArray(v) ? v.map(plain) : v

const MSG_FILES = readdirSync(FIXTURES).filter((f) => /^msg_.*\.json$/.test(f))

describe('decodeTask: every captured Celery message', () => {
  it('finds all 27 captures', () => {
    expect(MSG_FILES).toHaveLength(27)
  })

  it.each(MSG_FILES)('%s', (file) => {
    const { headers: h, props, bodyText, body } = capture(file)
    const res = decodeTask(Buffer.from(bodyText, 'utf8'), amqp(props, h))
    if (!res.ok) throw new Error(`${res.reason}: ${res.message}`)
    const t = res.task
    expect(t.protocol).toBe(2)
    expect(t.id).toBe(h.id)
    expect(t.name).toBe(h.task)
    expect(t.args).toEqual(body[0])
    expect(t.kwargs).toEqual(body[1])
    expect(t.embed).toEqual(body[2])
    expect(t.retries).toBe(h.retries)
    expect(t.eta?.getTime() ?? null).toBe(h.eta === null ? null : isoMs(h.eta))
    expect(t.expires?.getTime() ?? null).toBe(h.expires === null ? null : isoMs(h.expires))
    expect(t.rootId).toBe(h.root_id)
    expect(t.parentId).toBe(h.parent_id)
    expect(t.groupId).toBe(h.group)
    expect(t.groupIndex).toBe(h.group_index)
    expect(t.shadow).toBe(h.shadow)
    expect(t.timeLimit).toEqual({ hard: h.timelimit[0], soft: h.timelimit[1] })
    expect(t.ignoreResult).toBe(h.ignore_result)
    expect(t.origin).toBe(h.origin)
    expect(t.lang).toBe('py')
    expect(t.correlationId).toBe(props.correlation_id)
    expect(t.replyTo).toBe(props.reply_to)
    expect(t.priority).toBe(props.priority ?? null)
    expect(t.headers).toEqual(h)
  })

  it('reads time limits in Celery order [hard, soft]', () => {
    const { headers, props, bodyText } = capture('msg_time_limits.json')
    const res = decodeTask(Buffer.from(bodyText), amqp(props, headers))
    expect(res.ok && res.task.timeLimit).toEqual({ hard: 30, soft: 20 }) // time_limit=30, soft_time_limit=20
  })

  it('keeps a chain reversed and its signatures whole', () => {
    const { headers, props, bodyText } = capture('msg_chain.json')
    const res = decodeTask(Buffer.from(bodyText), amqp(props, headers))
    if (!res.ok) throw new Error(res.message)
    expect(res.task.embed.chain?.map((s) => s.args)).toEqual([[4], [3]])
    expect(res.task.embed.chain?.[0]?.options).toEqual({
      task_id: '824e0c7a-3f7a-4b55-9ae3-3829563f7c16',
      reply_to: '91bb4999-864b-3946-b1a5-dbf3d237b9ad',
    })
  })
})

// Options that should make encodeTask reproduce a capture (ids, origin and reply_to taken from it).
function optionsFrom(c: Capture): EncodeTaskOptions {
  const h = c.headers
  const standard = new Set(
    Object.keys(
      readJson<{ properties: PyProperties }>('msg_apply_async_plain.json').properties.headers ?? {},
    ),
  )
  const extra = Object.fromEntries(Object.entries(h).filter(([k]) => !standard.has(k)))
  const expires = h.expires === null ? null : new Date(isoMs(h.expires))
  return {
    name: h.task,
    args: c.body[0],
    kwargs: c.body[1],
    embed: c.body[2],
    taskId: h.id,
    eta: h.eta === null ? null : new Date(isoMs(h.eta)),
    expires,
    retries: h.retries as number,
    rootId: h.root_id as string,
    parentId: h.parent_id as string | null,
    groupId: h.group as string | null,
    groupIndex: h.group_index as number | null,
    shadow: h.shadow as string | null,
    timeLimit: { hard: h.timelimit[0], soft: h.timelimit[1] },
    ignoreResult: h.ignore_result as boolean,
    origin: h.origin as string,
    replyTo: c.props.reply_to ?? undefined,
    priority: c.props.priority ?? undefined,
    headers: Object.keys(extra).length ? extra : undefined,
    // Puts "now" where the capture's expiration says it was.
    now: expires && c.props.expiration ? new Date(expires.getTime() - Number(c.props.expiration)) : undefined,
  }
}

describe('encodeTask: reproduces every capture', () => {
  it.each(MSG_FILES)('%s', (file) => {
    const c = capture(file)
    const { body, properties: p, taskId } = encodeTask(optionsFrom(c))
    expect(taskId).toBe(c.headers.id)
    expect(body.toString('utf8')).toBe(c.bodyText)
    expect(Object.keys(p.headers)).toEqual(Object.keys(c.headers))
    for (const [key, expected] of Object.entries(c.headers)) {
      // Python sends a tuple for apply_async/delay, "(2, 3)"; hotspot sends lists like send_task, "[2, 3]".
      if (key === 'argsrepr' && c.headers.argsrepr.startsWith('(')) continue
      const want =
        (key === 'eta' || key === 'expires') && typeof expected === 'string'
          ? toMsPrecision(expected)
          : expected
      expect(plain(p.headers[key]), key).toEqual(want)
    }
    expect(p.contentType).toBe('application/json')
    expect(p.contentEncoding).toBe('utf-8')
    expect(p.deliveryMode).toBe(2)
    expect(p.correlationId).toBe(c.props.correlation_id)
    expect(p.replyTo).toBe(c.props.reply_to)
    expect(p.expiration).toBe(c.props.expiration ?? undefined)
    // Celery left priority unset only for apply_async(queue=...); hotspot always sends its value (0).
    expect(p.priority).toBe(c.props.priority ?? 0)
  })

  it('writes argsrepr as a list, like send_task', () => {
    const c = capture('msg_send_task_args_kwargs.json')
    const { properties } = encodeTask({
      name: 'celapp.echo',
      args: [1, 'two', [3]],
      kwargs: { k: 'v', n: null, f: 1.5 },
    })
    expect(properties.headers.argsrepr).toBe(c.headers.argsrepr)
    expect(properties.headers.kwargsrepr).toBe(c.headers.kwargsrepr)
  })

  it('sets the broker TTL from expires like Celery: int(ms), never negative', () => {
    const now = new Date('2026-11-23T05:00:31.818Z')
    const ttl = (expires: Date) => encodeTask({ name: 't', expires, now }).properties.expiration
    expect(ttl(new Date(now.getTime() + 300_000))).toBe('300000') // as msg_expires_seconds
    expect(ttl(new Date(now.getTime() + 1500.7))).toBe('1500')
    expect(ttl(new Date(now.getTime() - 60_000))).toBe('0')
    expect(encodeTask({ name: 't', now }).properties.expiration).toBeUndefined()
  })

  it('formats eta as Python isoformat: microseconds only when non-zero, +00:00', () => {
    const eta = (iso: string) => encodeTask({ name: 't', eta: new Date(iso) }).properties.headers.eta
    expect(eta('2030-01-02T03:04:05.678Z')).toBe('2030-01-02T03:04:05.678000+00:00')
    expect(eta('2030-01-02T03:04:05.000Z')).toBe('2030-01-02T03:04:05+00:00')
    expect(eta('2030-01-02T03:04:05.001Z')).toBe('2030-01-02T03:04:05.001000+00:00')
  })

  it('defaults like a top-level Celery task', () => {
    const { taskId, properties: p, body } = encodeTask({ name: 'hotspot.ping' })
    expect(taskId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    expect(p.headers.root_id).toBe(taskId)
    expect(p.headers.lang).toBe('py')
    expect(p.headers.origin).toMatch(/^hotspot-\d+@.+/)
    expect(p.replyTo).toBeUndefined()
    expect(body.toString()).toBe(
      '[[], {}, {"callbacks": null, "errbacks": null, "chain": null, "chord": null}]',
    )
  })

  it('rejects options Celery could not carry', () => {
    const bad: [string, EncodeTaskOptions][] = [
      ['empty name', { name: '' }],
      ['args not a list', { name: 't', args: { a: 1 } as unknown as unknown[] }],
      ['kwargs a list', { name: 't', kwargs: [] as unknown as Record<string, unknown> }],
      ['negative retries', { name: 't', retries: -1 }],
      ['priority 256', { name: 't', priority: 256 }],
      ['invalid eta', { name: 't', eta: new Date(Number.NaN) }],
      ['zero time limit', { name: 't', timeLimit: { hard: 0 } }],
      ['extra header shadowing id', { name: 't', headers: { id: 'x' } }],
      ['NaN argument', { name: 't', args: [Number.NaN] }],
    ]
    for (const [what, opts] of bad) expect(() => encodeTask(opts), what).toThrow()
  })
})

describe('encodeTask: headers a Python worker reads right', () => {
  // rabbitmq-client's own encoder, to see the AMQP type tags that reach py-amqp.
  const codec = createRequire(import.meta.url)('rabbitmq-client/lib/codec.js') as {
    genContentFrames(ch: number, params: object, body: Buffer, frameMax: number): Iterable<Buffer>
  }
  const typeTags = (headers: Record<string, unknown>): Record<string, string> => {
    const [, header] = [
      ...codec.genContentFrames(1, { exchange: '', routingKey: 'q', headers }, Buffer.from('x'), 4096),
    ]
    const text = header?.toString('latin1') ?? ''
    return Object.fromEntries(
      Object.keys(headers).map((k) => [
        k,
        text.charAt(text.indexOf(`${String.fromCharCode(k.length)}${k}`) + k.length + 1),
      ]),
    )
  }

  it('never sends an int16 (py-amqp reads tag s as a string: 300 became ",")', () => {
    const { properties } = encodeTask({
      name: 't',
      retries: 300,
      groupIndex: 5,
      timeLimit: { hard: 600, soft: 1.5 },
    })
    const tags = typeTags(properties.headers)
    expect(tags.retries).toBe('l')
    expect(tags.group_index).toBe('b') // 0..127 as int8 is read correctly
    expect(properties.headers.timelimit).toEqual([600n, 1.5])
    expect(plain(properties.headers.retries)).toBe(300)
  })

  it('round-trips the wire-safe values through decodeTask', () => {
    const { body, properties } = encodeTask({ name: 't', retries: 300, timeLimit: { hard: 600 } })
    const res = decodeTask(body, properties)
    expect(res.ok && [res.task.retries, res.task.timeLimit]).toEqual([300, { hard: 600, soft: null }])
  })
})

describe('decodeTask: bigint header values', () => {
  // pika/py-amqp wrote 2**40 as type L (fixtures/bigint_header.txt); some clients hand those over as bigint.
  const big = BigInt(
    /'x_big': \{'type': 'L', 'value': (\d+)\}/.exec(readText('bigint_header.txt'))?.[1] ?? '0',
  )

  it('normalises integers that arrive as bigint', () => {
    const headers = {
      task: 't',
      id: 'i',
      retries: 3n,
      group_index: 1n,
      timelimit: [30n, 20n],
      x_big: big,
      x_neg: -5,
    }
    const res = decodeTask(Buffer.from('[[], {}, {}]'), { contentType: 'application/json', headers })
    if (!res.ok) throw new Error(res.message)
    expect(big).toBe(1099511627776n)
    expect(res.task.retries).toBe(3)
    expect(res.task.groupIndex).toBe(1)
    expect(res.task.timeLimit).toEqual({ hard: 30, soft: 20 })
    expect(res.task.headers.x_big).toBe(1099511627776)
    expect(res.task.headers.x_neg).toBe(-5)
  })

  it('keeps a bigint beyond 2^53 exact instead of rounding it', () => {
    const headers = { task: 't', id: 'i', x_huge: 2n ** 60n }
    const res = decodeTask(Buffer.from('[[], {}, {}]'), { contentType: 'application/json', headers })
    expect(res.ok && res.task.headers.x_huge).toBe(2n ** 60n)
  })
})

interface RawCase {
  task_id: string
  published: { properties: PyProperties; body: string }
  redis_value: { status: string; result: Record<string, unknown> } | null
}
const RAW = readJson<Record<string, RawCase>>('raw_cases.json')
const rawBody = (c: RawCase): Buffer =>
  // The pickle case stores its bytes as hex.
  c.published.properties.content_type === 'application/x-python-serialize'
    ? Buffer.from(c.published.body, 'hex')
    : Buffer.from(c.published.body, 'utf8')
const decodeRaw = (name: string) => {
  const c = RAW[name]
  if (!c) throw new Error(`no raw case ${name}`)
  return decodeTask(rawBody(c), amqp(c.published.properties))
}

describe('decodeTask: hand-built messages a Celery worker was given (raw_cases.json)', () => {
  const rejected: [string, string][] = [
    ['body_two_elements', 'invalid_body'], // crashed every Celery worker
    ['no_content_type', 'unsupported_content_type'], // crashed the worker
    ['missing_id', 'missing_headers'], // KeyError('id'), worker exit
    ['missing_task', 'missing_headers'], // rejected as unknown message
    ['invalid_json', 'invalid_json'],
    ['pickle_body', 'unsupported_content_type'],
    ['args_not_list', 'invalid_body'], // Celery ran add(*{"x": 1}) and failed with TypeError
  ]
  it.each(rejected)('%s → %s', (name, reason) => {
    const res = decodeRaw(name)
    expect(res.ok).toBe(false)
    if (!res.ok) {
      expect(res.reason).toBe(reason)
      expect(res.message.length).toBeGreaterThan(10)
    }
  })

  const accepted = Object.keys(RAW).filter((name) => !rejected.some(([r]) => r === name))
  it('covers every other case', () => {
    expect(accepted).toHaveLength(15)
  })

  it.each(accepted)('%s is accepted with its id and task', (name) => {
    const c = RAW[name] as RawCase
    const res = decodeRaw(name)
    if (!res.ok) throw new Error(`${res.reason}: ${res.message}`)
    expect(res.task.id).toBe(c.task_id)
    expect(res.task.name).toBe(c.published.properties.headers?.task ?? JSON.parse(c.published.body).task)
  })

  // celapp.info returned the request the Celery worker built from the same bytes: agree with it.
  const infos = accepted.filter((name) => RAW[name]?.redis_value?.result?.task === 'celapp.info')
  it.each(infos)('%s matches the request Celery saw', (name) => {
    const seen = (RAW[name] as RawCase).redis_value?.result as Record<string, unknown>
    const res = decodeRaw(name)
    if (!res.ok) throw new Error(res.message)
    const t = res.task
    expect(t.id).toBe(seen.id)
    expect(t.args).toEqual(seen.args)
    expect(t.kwargs).toEqual(seen.kwargs)
    expect(t.retries).toBe(seen.retries)
    expect(t.rootId).toBe(seen.root_id)
    expect(t.parentId).toBe(seen.parent_id)
    expect(t.groupId).toBe(seen.group)
    expect(t.origin).toBe(seen.origin)
    expect(t.replyTo).toBe(seen.reply_to)
    expect(t.correlationId).toBe(seen.correlation_id)
    expect(t.ignoreResult).toBe(seen.ignore_result)
    const limit = seen.timelimit as [number, number] | null
    expect(t.timeLimit).toEqual({ hard: limit?.[0] ?? null, soft: limit?.[1] ?? null })
    for (const key of ['eta', 'expires'] as const) {
      const iso = seen[key] as string | null
      // A naive eta is UTC: the worker's timezone was UTC.
      expect(t[key]?.getTime() ?? null, key).toBe(
        iso === null ? null : isoMs(/[Z+]/.test(iso.slice(19)) ? iso : `${iso}Z`),
      )
    }
  })

  it('accepts protocol v1 (everything in the body, no headers)', () => {
    const res = decodeRaw('no_headers_v1_style')
    if (!res.ok) throw new Error(res.message)
    expect(res.task).toMatchObject({ protocol: 1, name: 'celapp.add', args: [2, 3], kwargs: {} })
    expect(res.task.embed).toEqual({ callbacks: null, errbacks: null, chain: null, chord: null })
  })

  it('reads a chain whose embed keys come in another order', () => {
    const res = decodeRaw('chain_embed')
    if (!res.ok) throw new Error(res.message)
    expect(res.task.embed.chord).toBeNull()
    expect(res.task.embed.chain?.map((s) => s.options?.task_id)).toEqual([
      'b9a2b73e-195f-42ed-9e04-70a7a2c7773f-c2',
      'b9a2b73e-195f-42ed-9e04-70a7a2c7773f-c1',
    ])
  })
})

describe('decodeTask: other malformed input', () => {
  const json = 'application/json'
  const h = { task: 'celapp.add', id: 'abc' }
  const cases: [string, string | Buffer, IncomingProperties, string][] = [
    ['yaml', '[[], {}, {}]', { contentType: 'application/x-yaml', headers: h }, 'unsupported_content_type'],
    [
      'msgpack',
      '[[], {}, {}]',
      { contentType: 'application/x-msgpack', headers: h },
      'unsupported_content_type',
    ],
    ['text/plain', '[[], {}, {}]', { contentType: 'text/plain', headers: h }, 'unsupported_content_type'],
    [
      'binary encoding',
      '[[], {}, {}]',
      { contentType: json, contentEncoding: 'binary', headers: h },
      'unsupported_content_encoding',
    ],
    [
      'gzip encoding',
      '[[], {}, {}]',
      { contentType: json, contentEncoding: 'gzip', headers: h },
      'unsupported_content_encoding',
    ],
    [
      'compression header',
      '[[], {}, {}]',
      { contentType: json, headers: { ...h, compression: 'application/x-gzip' } },
      'unsupported_compression',
    ],
    ['invalid UTF-8', Buffer.from([0x5b, 0xff, 0x5d]), { contentType: json, headers: h }, 'invalid_json'],
    ['empty body', '', { contentType: json, headers: h }, 'invalid_json'],
    ['string body', '"add"', { contentType: json, headers: h }, 'invalid_body'],
    ['number body', '42', { contentType: json, headers: h }, 'invalid_body'],
    ['null body', 'null', { contentType: json, headers: h }, 'invalid_body'],
    ['four elements', '[[], {}, {}, {}]', { contentType: json, headers: h }, 'invalid_body'],
    ['kwargs a list', '[[], [], {}]', { contentType: json, headers: h }, 'invalid_body'],
    ['kwargs null', '[[], null, {}]', { contentType: json, headers: h }, 'invalid_body'],
    ['embed null', '[[], {}, null]', { contentType: json, headers: h }, 'invalid_body'],
    [
      'callbacks not a list',
      '[[], {}, {"callbacks": {"task": "x"}}]',
      { contentType: json, headers: h },
      'invalid_body',
    ],
    [
      'callback without task',
      '[[], {}, {"callbacks": [{"args": []}]}]',
      { contentType: json, headers: h },
      'invalid_body',
    ],
    ['chord a string', '[[], {}, {"chord": "x"}]', { contentType: json, headers: h }, 'invalid_body'],
    ['task a number', '[[], {}, {}]', { contentType: json, headers: { ...h, task: 42 } }, 'invalid_headers'],
    ['empty id', '[[], {}, {}]', { contentType: json, headers: { ...h, id: '' } }, 'missing_headers'],
    ['no headers, array body', '[[], {}, {}]', { contentType: json }, 'missing_headers'],
    [
      'eta not a date',
      '[[], {}, {}]',
      { contentType: json, headers: { ...h, eta: 'tomorrow' } },
      'invalid_headers',
    ],
    [
      'eta 30 February',
      '[[], {}, {}]',
      { contentType: json, headers: { ...h, eta: '2026-02-30T00:00:00' } },
      'invalid_headers',
    ],
    [
      'expires month 13',
      '[[], {}, {}]',
      { contentType: json, headers: { ...h, expires: '2026-13-01T00:00:00Z' } },
      'invalid_headers',
    ],
    [
      'timelimit of one',
      '[[], {}, {}]',
      { contentType: json, headers: { ...h, timelimit: [1] } },
      'invalid_headers',
    ],
    [
      'timelimit text',
      '[[], {}, {}]',
      { contentType: json, headers: { ...h, timelimit: ['a', null] } },
      'invalid_headers',
    ],
    [
      'negative retries',
      '[[], {}, {}]',
      { contentType: json, headers: { ...h, retries: -1 } },
      'invalid_headers',
    ],
    [
      'fractional retries',
      '[[], {}, {}]',
      { contentType: json, headers: { ...h, retries: 1.5 } },
      'invalid_headers',
    ],
    [
      'retries as text',
      '[[], {}, {}]',
      { contentType: json, headers: { ...h, retries: '3' } },
      'invalid_headers',
    ],
    [
      'ignore_result text',
      '[[], {}, {}]',
      { contentType: json, headers: { ...h, ignore_result: 'yes' } },
      'invalid_headers',
    ],
    [
      'v1 kwargs a list',
      '{"task": "a", "id": "b", "args": [], "kwargs": []}',
      { contentType: json },
      'invalid_body',
    ],
    ['v1 without task', '{"id": "b", "args": [], "kwargs": {}}', { contentType: json }, 'missing_headers'],
  ]
  it.each(cases)('%s', (_, body, props, reason) => {
    const res = decodeTask(typeof body === 'string' ? Buffer.from(body) : body, props)
    expect(res.ok ? 'accepted' : res.reason).toBe(reason)
  })
})

describe('decodeTask: lenient where Celery is', () => {
  const h = { task: 'celapp.add', id: 'abc' }

  it('accepts a content type with parameters', () => {
    const res = decodeTask(Buffer.from('[[1], {}, {}]'), {
      contentType: 'application/json; charset=utf-8',
      headers: h,
    })
    expect(res.ok).toBe(true)
  })

  it('accepts a body rabbitmq-client already parsed (no content_encoding)', () => {
    const res = decodeTask([[1, 2], { a: 1 }, {}], { contentType: 'application/json', headers: h })
    expect(res.ok && [res.task.args, res.task.kwargs]).toEqual([[1, 2], { a: 1 }])
  })

  it('merges a hybrid message: dict body, AMQP headers win', () => {
    const body = '{"task": "old", "id": "abc", "args": [1], "kwargs": {}, "taskset": "g1", "retries": 2}'
    const res = decodeTask(Buffer.from(body), { contentType: 'application/json', headers: { task: 'new' } })
    expect(res.ok && res.task).toMatchObject({
      protocol: 1,
      name: 'new',
      id: 'abc',
      groupId: 'g1',
      retries: 2,
    })
  })

  it('reads eta with any UTC offset', () => {
    const headers = { ...h, eta: '2026-11-23T10:30:00.5+05:30' }
    const res = decodeTask(Buffer.from('[[], {}, {}]'), { contentType: 'application/json', headers })
    expect(res.ok && res.task.eta?.toISOString()).toBe('2026-11-23T05:00:00.500Z')
  })
})

describe('encode → decode round trip', () => {
  it('gives back every option', () => {
    const opts = {
      name: 'hotspot.add',
      args: [1, 'é漢 😀', { deep: [null, true, 1.25] }],
      kwargs: { quote: `it's "x"`, n: -7 },
      taskId: 'fixed-id',
      eta: new Date('2031-05-06T07:08:09.123Z'),
      expires: new Date('2031-05-07T00:00:00.000Z'),
      retries: 4,
      rootId: 'root',
      parentId: 'parent',
      groupId: 'group',
      groupIndex: 2,
      shadow: 'nice',
      priority: 7,
      replyTo: 'reply',
      origin: 'me@host',
      ignoreResult: true,
      timeLimit: { hard: 300, soft: 250 },
      embed: {
        callbacks: [{ task: 'cb', args: [], kwargs: {}, options: {}, subtask_type: null, immutable: false }],
      },
      headers: { x_custom: 'v' },
    }
    const { body, properties } = encodeTask(opts)
    const res = decodeTask(body, properties)
    if (!res.ok) throw new Error(res.message)
    expect(res.task).toMatchObject({
      protocol: 2,
      id: 'fixed-id',
      name: 'hotspot.add',
      args: opts.args,
      kwargs: opts.kwargs,
      eta: opts.eta,
      expires: opts.expires,
      retries: 4,
      rootId: 'root',
      parentId: 'parent',
      groupId: 'group',
      groupIndex: 2,
      shadow: 'nice',
      timeLimit: { hard: 300, soft: 250 },
      ignoreResult: true,
      origin: 'me@host',
      correlationId: 'fixed-id',
      replyTo: 'reply',
      priority: 7,
    })
    expect(res.task.embed).toEqual({
      callbacks: opts.embed.callbacks,
      errbacks: null,
      chain: null,
      chord: null,
    })
    expect(res.task.headers.x_custom).toBe('v')
  })
})

describe('Python-compatible text', () => {
  // Expected strings printed by Python 3.11 for the same values.
  it('json.dumps: separators and ASCII escapes', () => {
    expect(pyJsonDumps({ a: '😀\u007f\n', b: [1.5, 0, 1e21] })).toBe(
      '{"a": "\\ud83d\\ude00\\u007f\\n", "b": [1.5, 0, 1e+21]}',
    )
    expect(pyJsonDumps(['\u0000\u001f"\\/\b\f\r\t'])).toBe('["\\u0000\\u001f\\"\\\\/\\b\\f\\r\\t"]')
    expect(pyJsonDumps({ skip: undefined, d: new Date('2030-01-02T03:04:05.678Z') })).toBe(
      '{"d": "2030-01-02T03:04:05.678Z"}',
    )
    expect(pyJsonDumps([2n ** 64n])).toBe('[18446744073709551616]')
  })

  it('json.dumps refuses what JSON cannot hold', () => {
    const cyclic: unknown[] = []
    cyclic.push(cyclic)
    expect(() => pyJsonDumps(cyclic)).toThrow(/cyclic/)
    expect(() => pyJsonDumps([Number.POSITIVE_INFINITY])).toThrow()
    expect(() => pyJsonDumps([() => 1])).toThrow()
  })

  it('repr: quotes, escapes, numbers, None/True', () => {
    const value = ["it's", 'a"b', `x'y"`, '\u0000\u007f\u00a0é\u2028😀', 1e-7, 0.00001, 1.5, 1e22, null, true]
    expect(pyRepr(value)).toBe(
      `["it's", 'a"b', 'x\\'y"', '\\x00\\x7f\\xa0é\\u2028😀', 1e-07, 1e-05, 1.5, 10000000000000000000000, None, True]`,
    )
    expect(pyRepr({ k: { n: null }, t: 'tab\there' })).toBe(`{'k': {'n': None}, 't': 'tab\\there'}`)
  })

  it('repr is capped like Celery saferepr', () => {
    const out = pyRepr(['x'.repeat(2000)], 1024)
    expect(out).toHaveLength(1024)
    expect(out.endsWith('...')).toBe(true)
  })

  it('isoformat', () => {
    expect(pyIsoformat(new Date('2026-11-23T05:01:31.726Z'), false)).toBe('2026-11-23T05:01:31.726000')
    expect(pyIsoformat(new Date('2026-11-23T05:01:31Z'), true)).toBe('2026-11-23T05:01:31+00:00')
  })

  it('isoformat of the same millisecond twice, naive then aware, and of the next one', () => {
    const at = new Date('2026-11-23T05:01:31.726Z')
    expect(pyIsoformat(at, false)).toBe('2026-11-23T05:01:31.726000')
    expect(pyIsoformat(new Date(at.getTime()), true)).toBe('2026-11-23T05:01:31.726000+00:00')
    expect(pyIsoformat(new Date(at.getTime() + 1), false)).toBe('2026-11-23T05:01:31.727000')
    expect(() => pyIsoformat(new Date(Number.NaN), false)).toThrow(RangeError)
  })
})

describe('parseIsoDate', () => {
  const good: [string, string][] = [
    ['2030-01-02T03:04:05.678901+00:00', '2030-01-02T03:04:05.678Z'],
    ['2026-11-23T05:07:09.373638', '2026-11-23T05:07:09.373Z'],
    ['2026-11-23T05:11:33.579Z', '2026-11-23T05:11:33.579Z'],
    ['2026-11-23T05:11:33', '2026-11-23T05:11:33.000Z'],
    ['2026-11-23 05:11', '2026-11-23T05:11:00.000Z'],
    ['2026-11-23T00:30:00-0130', '2026-11-23T02:00:00.000Z'],
    ['2024-02-29T23:59:59.9+01', '2024-02-29T22:59:59.900Z'],
  ]
  it.each(good)('%s', (input, expected) => {
    expect(parseIsoDate(input)?.toISOString()).toBe(expected)
  })
  it.each([
    '',
    'now',
    '2026-11-23',
    '2026-11-23T24:00:00',
    '2026-11-23T05:60:00',
    '2025-02-29T00:00:00',
    '2026-11-23T05:00:00+25:00',
  ])('rejects %j', (input) => {
    expect(parseIsoDate(input)).toBeNull()
  })
})
