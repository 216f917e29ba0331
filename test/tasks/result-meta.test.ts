import { readdirSync, readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { pyJsonDumps } from '../../src/tasks/message.ts'
import {
  buildResultMeta,
  celeryException,
  childRef,
  parseResultMeta,
  RESULT_EXPIRES_SECONDS,
  type ResultMetaInput,
  resultKey,
  type TaskState,
} from '../../src/tasks/result-meta.ts'

// Real Celery 5.2.6 captures (test/fixtures/celery/README.md §3).
const FIXTURES = new URL('../fixtures/celery/fixtures/', import.meta.url)
const readJson = <T>(name: string): T => JSON.parse(readFileSync(new URL(name, FIXTURES), 'utf8')) as T

interface StoredMeta {
  status: TaskState
  result: unknown
  traceback?: string | null
  children?: unknown[]
  date_done?: string | null
  group_id?: string
  parent_id?: string
  task_id: string
}
interface ResultCapture {
  task_id?: string
  redis_key?: string
  final_ttl_s?: number
  values_seen_in_order?: { raw: string; decoded: StoredMeta; ttl_s: number }[]
}

const RESULT_FILES = readdirSync(FIXTURES).filter((f) => /^result_.*\.json$/.test(f))
const captures = RESULT_FILES.map((f) => [f, readJson<ResultCapture>(f)] as const)
const seen = captures.flatMap(([file, c]) =>
  (c.values_seen_in_order ?? []).map((v, i) => [`${file} #${i} ${v.decoded.status}`, v] as const),
)

// JS dates carry milliseconds: "05:01:31.726236" can only come back as "05:01:31.726000".
const msDateDone = (iso: string): string => iso.replace(/\.(\d{3})\d{3}$/, '.$1000')
const nowFor = (dateDone: string | null | undefined): Date | undefined =>
  dateDone ? new Date(`${msDateDone(dateDone).slice(0, 23)}Z`) : undefined

function inputFrom(m: StoredMeta): ResultMetaInput {
  return {
    taskId: m.task_id,
    status: m.status,
    result: m.result,
    traceback: m.traceback,
    children: m.children,
    groupId: m.group_id,
    parentId: m.parent_id,
    now: nowFor(m.date_done) ?? new Date(),
  }
}

describe('buildResultMeta: the exact text Celery stored', () => {
  it('has the captured values to compare with', () => {
    expect(RESULT_FILES).toHaveLength(9)
    expect(seen).toHaveLength(13)
  })

  it.each(seen)('%s', (_, { raw, decoded }) => {
    const expected = decoded.date_done
      ? raw.replace(`"date_done": "${decoded.date_done}"`, `"date_done": "${msDateDone(decoded.date_done)}"`)
      : raw
    expect(buildResultMeta(inputFrom(decoded))).toBe(expected)
  })

  // raw_cases.json: values a Celery worker stored for hand-built messages (decoded, so compare as JSON).
  const raw =
    readJson<Record<string, { redis_value: StoredMeta | null } & Record<string, unknown>>>('raw_cases.json')
  const stored = Object.entries(raw).flatMap(([name, c]) =>
    Object.entries(c)
      .filter(([k, v]) => k.startsWith('redis_value') && v !== null)
      .map(([k, v]) => [`${name} ${k}`, v as StoredMeta] as const),
  )
  const chord = readJson<{ body_result: StoredMeta }>('result_chord.json').body_result
  it.each([...stored, ['result_chord body_result', chord] as const])('%s', (_, value) => {
    const built = JSON.parse(buildResultMeta(inputFrom(value)))
    const want = value.date_done ? { ...value, date_done: msDateDone(value.date_done) } : value
    expect(built).toEqual(want)
    expect(Object.keys(built)).toEqual(Object.keys(value)) // group_id, parent_id, then task_id last
  })

  it('writes date_done only for ready states, in naive UTC', () => {
    const now = new Date('2026-11-23T05:01:31.726Z')
    const done = (status: TaskState) => JSON.parse(buildResultMeta({ taskId: 'x', status, now })).date_done
    expect(done('SUCCESS')).toBe('2026-11-23T05:01:31.726000')
    expect(done('FAILURE')).toBe('2026-11-23T05:01:31.726000')
    expect(done('REVOKED')).toBe('2026-11-23T05:01:31.726000')
    expect(done('STARTED')).toBeNull()
    expect(done('RETRY')).toBeNull()
  })

  it('drops the fraction at a whole second, as Python isoformat does', () => {
    const now = new Date('2026-11-23T05:01:31.000Z')
    expect(buildResultMeta({ taskId: 'x', status: 'SUCCESS', result: 1, now })).toBe(
      '{"status": "SUCCESS", "result": 1, "traceback": null, "children": [], "date_done": "2026-11-23T05:01:31", "task_id": "x"}',
    )
  })

  it('adds result_extended fields between parent_id and task_id', () => {
    const text = buildResultMeta({
      taskId: 'x',
      status: 'STARTED',
      result: { pid: 1, hostname: 'w@h' },
      parentId: 'p',
      extended: { name: 'hotspot.add', args: [1, 2], kwargs: {}, worker: 'w@h', retries: 0, queue: 'celery' },
    })
    expect(text).toBe(
      '{"status": "STARTED", "result": {"pid": 1, "hostname": "w@h"}, "traceback": null, "children": [], ' +
        '"date_done": null, "parent_id": "p", "name": "hotspot.add", "args": [1, 2], "kwargs": {}, ' +
        '"worker": "w@h", "retries": 0, "queue": "celery", "task_id": "x"}',
    )
  })

  it('writes every field combination as json.dumps of the same dict would, in Celery’s key order', () => {
    const now = new Date('2026-11-23T05:01:31.250Z')
    const failure = celeryException('ValueError', 'bad "value"\n')
    for (const status of ['STARTED', 'SUCCESS', 'FAILURE', 'RETRY'] as TaskState[])
      for (const result of [undefined, null, 0, 'é', [1, { a: null }], failure])
        for (const traceback of [undefined, null, 'Traceback (most recent call last):\n  "x"'])
          for (const children of [undefined, [], [[['c', null], null]]])
            for (const [groupId, parentId] of [
              [undefined, undefined],
              ['g', null],
              [null, 'p'],
              ['g', 'p'],
            ]) {
              const input = { taskId: 't"1', status, result, traceback, children, groupId, parentId, now }
              const dict: Record<string, unknown> = {
                status,
                result: result ?? null,
                traceback: traceback ?? null,
                children: children ?? [],
                date_done: status === 'SUCCESS' || status === 'FAILURE' ? '2026-11-23T05:01:31.250000' : null,
              }
              if (groupId) dict.group_id = groupId
              if (parentId) dict.parent_id = parentId
              dict.task_id = 't"1'
              expect(buildResultMeta(input)).toBe(pyJsonDumps(dict))
            }
  })

  it('escapes non-ASCII like Python json.dumps', () => {
    const text = buildResultMeta({ taskId: 'x', status: 'STARTED', result: 'é漢😀' })
    expect(text).toContain('"result": "\\u00e9\\u6f22\\ud83d\\ude00"')
  })
})

describe('helpers', () => {
  it('celeryException has the captured shape', () => {
    const failure = readJson<ResultCapture>('result_failure_valueerror.json').values_seen_in_order?.[0]
      ?.decoded
    expect(celeryException('ValueError', 'bad value')).toEqual(failure?.result)
    expect(Object.keys(celeryException('E', []))).toEqual(['exc_type', 'exc_message', 'exc_module'])
    expect(celeryException('HotspotError', ['a', 1], 'hotspot.errors').exc_message).toEqual(['a', 1])
  })

  it('childRef matches what a retry records', () => {
    const retry = readJson<ResultCapture>('result_retry_exhausted.json').values_seen_in_order?.[0]?.decoded
    expect([childRef(retry?.task_id ?? '')]).toEqual(retry?.children)
  })

  it.each(captures.filter(([, c]) => c.redis_key))('%s: key and TTL', (_, c) => {
    expect(resultKey(c.task_id ?? '')).toBe(c.redis_key)
    expect(c.final_ttl_s).toBe(RESULT_EXPIRES_SECONDS)
    for (const v of c.values_seen_in_order ?? []) expect(v.ttl_s).toBe(RESULT_EXPIRES_SECONDS)
  })
})

describe('parseResultMeta', () => {
  it.each(seen)('%s', (_, { raw, decoded }) => {
    const res = parseResultMeta(raw)
    if (!res.ok) throw new Error(res.message)
    const { view } = res
    expect(view.status).toBe(decoded.status)
    expect(view.taskId).toBe(decoded.task_id)
    expect(view.dateDone?.getTime() ?? null).toBe(nowFor(decoded.date_done)?.getTime() ?? null)
    if (decoded.status === 'SUCCESS') {
      expect(view.result).toEqual(decoded.result)
      expect(view.error).toBeUndefined()
    } else if (decoded.status === 'STARTED') {
      expect(view).not.toHaveProperty('result')
    } else {
      const exc = decoded.result as { exc_type: string; exc_message: string[]; exc_module: string }
      expect(view.error).toEqual({ type: exc.exc_type, message: exc.exc_message[0], module: exc.exc_module })
      expect(view).not.toHaveProperty('result')
    }
  })

  // Values written by hand and read by Python's AsyncResult.get() (py_reads_handwritten.json).
  const handwritten =
    readJson<
      Record<string, { written_value: StoredMeta; python_get: Record<string, unknown> & { state?: string } }>
    >('py_reads_handwritten.json')
  it.each(Object.entries(handwritten))('%s reads as Python read it', (name, c) => {
    const res = parseResultMeta(JSON.stringify(c.written_value))
    if (!res.ok) throw new Error(res.message)
    const py = c.python_get
    if (py.state) expect(res.view.status).toBe(py.state)
    if ('returned' in py) expect(res.view.result).toEqual(py.returned)
    if (name.startsWith('failure_') && name !== 'failure_not_exception_class') {
      // e.g. raised_type "celery.exceptions.HotspotError", raised_repr "HotspotError('from ts')"
      expect(res.view.error?.type).toBe(String(py.raised_type).split('.').pop())
      expect(res.view.error?.message).toBe(/\('(.*)'\)$/.exec(String(py.raised_repr))?.[1])
    }
  })

  it('treats a missing key as PENDING', () => {
    expect(parseResultMeta(null)).toEqual({
      ok: true,
      view: { taskId: null, status: 'PENDING', dateDone: null },
    })
  })

  it('joins several exception arguments and copes with odd shapes', () => {
    const failed = (result: unknown) => {
      const res = parseResultMeta(JSON.stringify({ status: 'FAILURE', result, task_id: 't' }))
      return res.ok ? res.view.error : undefined
    }
    expect(failed({ exc_type: 'KeyError', exc_message: ['a', 2], exc_module: 'builtins' })?.message).toBe(
      'a, 2',
    )
    expect(failed({ exc_type: 'E', exc_message: [] })).toEqual({ type: 'E', message: '', module: null })
    expect(failed('boom')).toEqual({ type: 'Exception', message: 'boom', module: null })
  })

  it('passes custom states and REVOKED through', () => {
    const progress = parseResultMeta(
      Buffer.from('{"status": "PROGRESS", "result": {"done": 3}, "task_id": "t"}'),
    )
    expect(progress.ok && progress.view).toMatchObject({ status: 'PROGRESS', result: { done: 3 } })
    const revoked = parseResultMeta(
      '{"status": "REVOKED", "result": {"exc_type": "TaskRevokedError", "exc_message": ["expired"], ' +
        '"exc_module": "celery.exceptions"}, "traceback": null, "children": [], ' +
        '"date_done": "2026-11-23T05:07:14.741466", "task_id": "t"}',
    )
    expect(revoked.ok && revoked.view.error).toEqual({
      type: 'TaskRevokedError',
      message: 'expired',
      module: 'celery.exceptions',
    })
  })

  it('reads a date_done with an offset (Celery 5.3+)', () => {
    const res = parseResultMeta(
      '{"status": "SUCCESS", "result": 1, "date_done": "2026-11-23T05:01:31.726236+00:00"}',
    )
    expect(res.ok && res.view.dateDone?.toISOString()).toBe('2026-11-23T05:01:31.726Z')
  })

  it.each(['not json', '[1, 2]', '"SUCCESS"', '{"result": 5}', '{"status": ""}'])('refuses %j', (raw) => {
    expect(parseResultMeta(raw).ok).toBe(false)
  })
})
