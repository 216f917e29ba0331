import type { ChildProcess } from 'node:child_process'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { chain, chord, group, signature } from '../../src/tasks/canvas/build.ts'
import { groupKey } from '../../src/tasks/canvas/chord.ts'
import { startTestApp, type TestApp } from '../support/app.ts'
import { hasCelery, runPython, spawnPythonWorker, stopPythonWorker } from './support/python-celery.ts'

/** Groups and chords across a mixed fleet (Python Celery 5 and hotspot workers on one broker and one Redis). */
describe.runIf(hasCelery || process.env.CI)('canvas across Python and hotspot workers', () => {
  let app: TestApp
  let pyWorker: ChildProcess
  const pyQueue = `pycanvas-${Date.now()}`
  const canvas = (kind: string, ...rest: string[]) =>
    runPython('canvas_client.py', kind, app.config.tasks.defaultQueue, pyQueue, ...rest)
  const hot = (name: string, ...args: unknown[]) =>
    signature(name, args, {}, { queue: app.config.tasks.defaultQueue })
  const py = (name: string, ...args: unknown[]) => signature(name, args, {}, { queue: pyQueue })

  beforeAll(async () => {
    app = await startTestApp()
    await app.start(['worker'])
    pyWorker = spawnPythonWorker(pyQueue)
  })
  afterAll(async () => {
    await stopPythonWorker(pyWorker)
    await app.close()
  })

  it('a Python chord with header tasks on both workers calls its hotspot body once: 2+4+6', async () => {
    const out = await canvas('chord-mixed')
    expect(out.result).toBe(12)
    expect(out.body).toMatchObject({ status: 'SUCCESS', result: 12 })
  })

  it('a Python chord whose header runs on hotspot calls its Python body (hotspot finishes the header)', async () => {
    expect(await canvas('chord-python-body')).toEqual({ result: 6 })
  })

  it("a failing header task fails the body with Celery's ChordError and calls the body's errback", async () => {
    const out = await canvas('chord-failing')
    expect(out).toMatchObject({ state: 'FAILURE', error: 'ChordError' })
    expect(out.message).toMatch(/^Dependency [0-9a-f-]{36} raised PermanentTaskError\('boom'\)$/)
    expect(out.errback_got).toBe(out.body)
  })

  it('group members run on hotspot store group_id in their results, and Python joins the group', async () => {
    const out = (await canvas('group')) as { result: number[]; id: string; metas: Record<string, unknown>[] }
    expect(out.result).toEqual([2, 4, 6])
    for (const meta of out.metas) expect(meta).toMatchObject({ status: 'SUCCESS', group_id: out.id })
  })

  it('a TypeScript chain alternating hotspot and Python workers runs to the end: (2+3)+10+100', async () => {
    const sent = await app.tasks.sendCanvas(
      chain(hot('hotspot.add', 2, 3), py('py.add', 10), hot('hotspot.add', 100)),
    )
    expect(await app.tasks.results.wait(sent.id, 30_000)).toMatchObject({ status: 'SUCCESS', result: 115 })
    expect(await canvas('read', sent.id)).toEqual({ result: 115 })
  })

  it('a TypeScript chord run entirely by Python workers calls its body through the Redis chord counter', async () => {
    const sent = await app.tasks.sendCanvas(chord([py('py.add', 1, 2), py('py.add', 3, 4)], py('py.sum')))
    expect(await app.tasks.results.wait(sent.id, 30_000)).toMatchObject({ status: 'SUCCESS', result: 10 })
    expect(await canvas('read', sent.id)).toEqual({ result: 10 })
    // Celery deletes the chord keys once the body is sent.
    const counters = ['.j', '.t', '.s'] as const
    // One key at a time: on Redis Cluster the three lie in different slots.
    for (const suffix of counters)
      expect(await app.redis.exists(groupKey(sent.groupId as string, suffix))).toBe(0)
  })

  it('a TypeScript chord with a mixed header and a hotspot body, then a Python step after it', async () => {
    const sent = await app.tasks.sendCanvas(
      chain(
        chord([hot('hotspot.add', 1, 1), py('py.add', 2, 2), hot('hotspot.add', 3, 3)], hot('hotspot.sum')),
        py('py.add', 1000),
      ),
    )
    expect(await canvas('read', sent.id)).toEqual({ result: 1012 })
  })

  it('a TypeScript group is saved as a GroupResult that Python restores and joins', async () => {
    const sent = await app.tasks.sendCanvas(group(hot('hotspot.add', 1, 1), py('py.add', 5, 5)))
    expect(await canvas('read-group', sent.id)).toEqual({ ids: sent.groupTaskIds, result: [2, 10] })
  })
})
