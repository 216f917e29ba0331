import type { ChildProcess } from 'node:child_process'
import { Connection } from 'rabbitmq-client'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { startTestApp, type TestApp } from '../support/app.ts'
import { hasCelery, spawnPythonWorker, stopPythonWorker } from './support/python-celery.ts'

interface WorkerRow {
  hostname: string
  alive: boolean
  active: number
  freq: number
  software: string
  loadavg: number[]
}

/** The admin page's workers (from heartbeats, Python ones too) and its revoke button. */
describe.runIf(hasCelery || process.env.CI)('admin: workers and revoke', () => {
  let app: TestApp
  let pyWorker: ChildProcess
  const stamp = Date.now()
  const hs = `hs-admin-${stamp}@localhost`
  const py = `py-admin-${stamp}@localhost`

  beforeAll(async () => {
    app = await startTestApp({ env: { WORKER_NAME: hs } })
    await app.start(['worker'])
    pyWorker = spawnPythonWorker(`py-admin-${stamp}`, [], { name: py, heartbeat: true })
  })
  afterAll(async () => {
    await stopPythonWorker(pyWorker)
    await app.close()
  })

  const workers = async () => {
    const res = await app.http.inject({ method: 'GET', url: '/api/admin/workers', headers: app.auth })
    expect(res.statusCode).toBe(200)
    return res.json().workers as WorkerRow[]
  }

  it('GET /api/admin/workers lists the hotspot and the Python worker from their heartbeats', async () => {
    let rows: WorkerRow[] = []
    for (let i = 0; i < 100; i++) {
      rows = await workers()
      if ([hs, py].every((h) => rows.some((w) => w.hostname === h && w.alive))) break
      await new Promise((r) => setTimeout(r, 300))
    }
    expect(rows.find((w) => w.hostname === hs)).toMatchObject({ alive: true, software: 'hotspot 0.1.0' })
    expect(rows.find((w) => w.hostname === py)).toMatchObject({ alive: true, software: 'py-celery 5.2.6' })
    expect(rows.find((w) => w.hostname === hs)?.loadavg).toHaveLength(3)
  })

  it('malformed worker events are ignored or cleaned, and the list still answers', async () => {
    const amqp = new Connection(inject('amqpUrl'))
    const pub = amqp.createPublisher({ confirm: true })
    const odd = `odd-${stamp}@localhost`
    const bodies = ['not json{', '[1,2]', 'null', JSON.stringify({ type: 'worker-heartbeat', hostname: 5 })]
    bodies.push(
      JSON.stringify({ type: 'worker-heartbeat', hostname: odd, loadavg: 'high', freq: 'x', active: {} }),
    )
    for (const body of bodies) {
      await pub.send(
        { exchange: 'celeryev', routingKey: 'worker.heartbeat', contentType: 'application/json' },
        Buffer.from(body), // raw bytes: a string would be JSON-encoded again
      )
    }
    await pub.close()
    await amqp.close()
    let row: WorkerRow | undefined
    for (let i = 0; i < 50 && !row; i++) {
      row = (await workers()).find((w) => w.hostname === odd)
      if (!row) await new Promise((r) => setTimeout(r, 200))
    }
    expect(row).toMatchObject({ hostname: odd, alive: true, loadavg: [], active: 0, freq: 2 })
  })

  it('admin only', async () => {
    const res = await app.http.inject({ method: 'GET', url: '/api/admin/workers' })
    expect(res.statusCode).toBe(401)
    const revoke = await app.http.inject({ method: 'POST', url: '/api/admin/tasks/x/revoke', payload: {} })
    expect(revoke.statusCode).toBe(401)
  })

  it('POST /api/admin/tasks/:id/revoke tells the workers; a countdown task then arrives and is REVOKED', async () => {
    const taskId = await app.tasks.producer.send(
      'hotspot.add',
      [1, 2],
      {},
      {
        queue: app.config.tasks.ownQueue,
        countdown: 3,
      },
    )
    const res = await app.http.inject({
      method: 'POST',
      url: `/api/admin/tasks/${taskId}/revoke`,
      headers: app.auth,
      payload: {},
    })
    expect(res.statusCode).toBe(200)
    expect(res.json().replies[hs]).toEqual({ ok: `tasks ${taskId} flagged as revoked` })
    expect((await app.tasks.results.wait(taskId, 30_000)).status).toBe('REVOKED')
  })

  it('a malformed task id is a 400 and revokes nothing', async () => {
    const res = await app.http.inject({
      method: 'POST',
      url: `/api/admin/tasks/${encodeURIComponent('bad id!')}/revoke`,
      headers: app.auth,
      payload: { terminate: 'yes' },
    })
    expect(res.statusCode).toBe(400)
    expect(res.json().error.code).toBe('validation_failed')
  })
})
