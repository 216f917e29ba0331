import type { ChildProcess } from 'node:child_process'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { chain, chord, group, signature } from '../../src/tasks/canvas/build.ts'
import { startTestApp, type TestApp } from '../support/app.ts'
import { hasCelery, runPython, spawnPythonWorker, stopPythonWorker } from './support/python-celery.ts'

/**
 * Nested canvases across a mixed fleet, each checked against the same canvas run by Python workers alone (what
 * Celery 5.2's Redis backend does is the reference): groups, chains and chords inside a chord header, a chord as
 * a chain step, both directions.
 */
describe.runIf(hasCelery || process.env.CI)('nested canvases across Python and hotspot workers', () => {
  let app: TestApp
  const pyWorkers: ChildProcess[] = []
  const pyQueue = `pynested-${Date.now()}`
  const run = async (kind: string, fleet: 'mixed' | 'python') =>
    (await runPython('canvas_nested.py', kind, fleet, app.config.tasks.defaultQueue, pyQueue)).result
  const hot = (name: string, ...args: unknown[]) =>
    signature(name, args, {}, { queue: app.config.tasks.defaultQueue })
  const py = (name: string, ...args: unknown[]) => signature(name, args, {}, { queue: pyQueue })

  beforeAll(async () => {
    app = await startTestApp()
    await app.start(['worker'])
    // Two Python workers: a Python chord body or step may wait on nothing, but two keep the run short.
    pyWorkers.push(spawnPythonWorker(pyQueue, [], { name: `${pyQueue}-1@localhost` }))
    pyWorkers.push(spawnPythonWorker(pyQueue, [], { name: `${pyQueue}-2@localhost` }))
  })
  afterAll(async () => {
    for (const worker of pyWorkers) await stopPythonWorker(worker)
    await app.close()
  })

  const cases: [string, unknown][] = [
    ['nested-group', 12],
    ['chains-in-header', 2 + 14 + 106],
    ['chord-in-header', 12],
    ['chord-in-chain', 1034],
    ['chord-in-chain-reverse', 1034],
  ]
  it.each(cases)(
    'a Python client’s %s canvas gives what an all-Python fleet gives',
    async (kind, expected) => {
      expect(await run(kind, 'python')).toEqual(expected)
      expect(await run(kind, 'mixed')).toEqual(expected)
    },
  )

  it('a TypeScript chord whose header holds a nested group, chains both ways and a chord', async () => {
    const sent = await app.tasks.sendCanvas(
      chord(
        [
          hot('hotspot.add', 1, 1),
          group(py('py.add', 2, 2), hot('hotspot.add', 3, 3)),
          chain(hot('hotspot.add', 4, 4), py('py.add', 10)),
          chain(py('py.add', 5, 5), hot('hotspot.add', 100)),
          chord([py('py.add', 6, 6), hot('hotspot.add', 7, 7)], hot('hotspot.sum')),
        ],
        py('py.sum'),
      ),
    )
    const expected = 2 + 4 + 6 + 18 + 110 + (12 + 14)
    expect(await app.tasks.results.wait(sent.id, 30_000)).toMatchObject({
      status: 'SUCCESS',
      result: expected,
    })
  })

  it('a TypeScript group with a nested group and a chain is saved flat, as Celery saves it', async () => {
    const sent = await app.tasks.sendCanvas(
      group(
        hot('hotspot.add', 1, 1),
        group(py('py.add', 2, 2)),
        chain(py('py.add', 3, 3), hot('hotspot.add', 1)),
      ),
    )
    expect(sent.groupTaskIds).toHaveLength(3)
    const restored = await runPython(
      'canvas_client.py',
      'read-group',
      app.config.tasks.defaultQueue,
      pyQueue,
      sent.id,
    )
    expect(restored).toEqual({ ids: sent.groupTaskIds, result: [2, 4, 7] })
  })
})
