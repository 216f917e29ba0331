import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { REFRESH_TASK } from '../../src/banners/index.ts'
import { dbKinds, startTestApp, type TestApp } from '../support/app.ts'
import { list } from './support.ts'

/** A change made in SQL behind the API's back (a migration, a script): only the scheduled refresh sees it. */
const changeBehindTheCache = (app: TestApp, title: string) =>
  app.db.updateTable('banners').set({ title }).where('sort_order', '=', 1).execute()
const firstTitle = async (app: TestApp) => (await list(app)).json()[0].title as string

describe.each(dbKinds)('banners refresh (%s)', (db) => {
  let scheduled: TestApp
  let manual: TestApp
  beforeAll(async () => {
    ;[scheduled, manual] = await Promise.all([
      startTestApp({ db, env: { BANNERS_REFRESH_SECONDS: '1' } }),
      startTestApp({ db }),
    ])
    await Promise.all([scheduled.start(['api', 'worker', 'beat']), manual.start(['api', 'worker'])])
  })
  afterAll(async () => {
    await Promise.all([scheduled.close(), manual.close()])
  })

  it('beat runs the refresh task every BANNERS_REFRESH_SECONDS and the cached list picks up the change', async () => {
    expect(scheduled.tasks.beat.entries()).toContainEqual(
      expect.objectContaining({ name: 'banners.refresh', everySeconds: 1, task: REFRESH_TASK }),
    )
    await list(scheduled)
    expect((await list(scheduled)).headers['x-cache']).toBe('HIT')
    await changeBehindTheCache(scheduled, 'Changed in SQL, seen by the scheduled refresh')
    // TTL is the default 10 minutes: only the refresh can bring the change in.
    await vi.waitFor(
      async () => expect(await firstTitle(scheduled)).toBe('Changed in SQL, seen by the scheduled refresh'),
      { timeout: 15_000, interval: 200 },
    )
    expect((await list(scheduled)).headers['x-cache']).toBe('HIT')
  })

  it('the refresh task, sent like any task, reloads the list and reports it', async () => {
    await list(manual)
    await changeBehindTheCache(manual, 'Changed in SQL, seen by the task')
    expect(await firstTitle(manual)).not.toBe('Changed in SQL, seen by the task') // cached
    const taskId = await manual.tasks.producer.send(REFRESH_TASK)
    expect(await manual.tasks.results.wait(taskId, 10_000)).toEqual({
      taskId,
      status: 'SUCCESS',
      result: { refreshed: true },
    })
    const after = await list(manual)
    expect([after.headers['x-cache'], after.json()[0].title]).toEqual([
      'HIT',
      'Changed in SQL, seen by the task',
    ])
  })
})
