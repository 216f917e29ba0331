import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestApp, type TestApp } from '../support/app.ts'

describe('task worker (real RabbitMQ and Redis)', () => {
  let app: TestApp
  beforeAll(async () => {
    app = await startTestApp()
    await app.start(['worker'])
  })
  afterAll(() => app.close())

  it('runs hotspot.add sent over HTTP and stores Celery-shaped SUCCESS', async () => {
    const sent = await app.http.inject({
      method: 'POST',
      url: '/api/tasks',
      headers: app.auth,
      payload: { name: 'hotspot.add', args: [2, 3] },
    })
    expect(sent.statusCode).toBe(202)
    const { taskId } = sent.json()
    const state = await app.tasks.results.wait(taskId, 10_000)
    expect(state).toEqual({ taskId, status: 'SUCCESS', result: 5 })
    const http = await app.http.inject({ method: 'GET', url: `/api/tasks/${taskId}` })
    expect(http.json()).toEqual({ taskId, status: 'SUCCESS', result: 5 })
    const raw = JSON.parse((await app.redis.get(`celery-task-meta-${taskId}`)) as string)
    expect(Object.keys(raw)).toEqual(['status', 'result', 'traceback', 'children', 'date_done', 'task_id'])
    expect(await app.redis.ttl(`celery-task-meta-${taskId}`)).toBeGreaterThan(86_000)
  })
})
