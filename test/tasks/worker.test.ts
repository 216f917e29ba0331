import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { BrokerKind } from '../../src/tasks/broker/types.ts'
import type { DeadLetter } from '../../src/tasks/dlq.ts'
import { encodeTask } from '../../src/tasks/message.ts'
import type { RawMessage } from '../../src/tasks/producer.ts'
import { DEAD_LETTER_QUEUE } from '../../src/tasks/topology.ts'
import { PermanentTaskError, RetryTask } from '../../src/tasks/types.ts'
import { startTestApp, type TestApp } from '../support/app.ts'
import { startPrivateRedis } from './support/private-redis.ts'

// The same behaviour on both brokers: RabbitMQ, and Redis with kombu's transport (a private Redis broker).
describe.each<BrokerKind>(['amqp', 'redis'])('task worker (real %s broker and Redis)', (kind) => {
  let app: TestApp
  let brokerRedis: Awaited<ReturnType<typeof startPrivateRedis>> | undefined
  const runs = new Map<string, number[]>()
  const record = (id: string) => runs.set(id, [...(runs.get(id) ?? []), Date.now()])
  let fixed = false

  beforeAll(async () => {
    brokerRedis = kind === 'redis' ? await startPrivateRedis() : undefined
    app = await startTestApp(brokerRedis ? { env: { BROKER_URL: brokerRedis.url } } : {})
    expect(app.tasks.broker.kind).toBe(kind)
    const { registry } = app.tasks
    registry.register(
      'test.flaky',
      (args, _kwargs, ctx) => {
        record(ctx.taskId)
        if (ctx.retries < (args[0] as number)) throw new Error(`attempt ${ctx.retries} failed`)
        return { attempts: ctx.retries + 1 }
      },
      { maxRetries: 3, retryBaseDelay: 1, retryJitter: false },
    )
    registry.register('test.when', (_args, _kwargs, ctx) => {
      record(ctx.taskId)
      return 'ran'
    })
    registry.register('test.needs-fix', () => {
      if (!fixed) throw new PermanentTaskError('not fixed yet')
      return 'fixed'
    })
    registry.register(
      'test.retry-later',
      (_args, _kwargs, ctx) => {
        record(ctx.taskId)
        if (ctx.retries === 0) throw new RetryTask('come back later', 1)
        return 'second time'
      },
      { maxRetries: 1 },
    )
    registry.register('test.once', async (args, _kwargs, ctx) => {
      const n = await ctx.once('effect', async () => app.redis.incr(`${app.prefix}:once:${args[0]}`))
      return n
    })
    await app.start(['worker'])
  })
  afterAll(async () => {
    await app.close()
    await brokerRedis?.stop()
  })
  const listDeadLetters = () => app.tasks.broker.listDeadLetters()
  /** A message exactly as given, straight to a queue (what another Celery client could publish). */
  const publishRaw = (queue: string, message: RawMessage) => app.tasks.producer.publish(queue, message)

  const send = (payload: Record<string, unknown>) =>
    app.http.inject({ method: 'POST', url: '/api/tasks', headers: app.auth, payload })

  it('runs hotspot.add sent over HTTP and stores Celery-shaped SUCCESS', async () => {
    const sent = await send({ name: 'hotspot.add', args: [2, 3] })
    expect(sent.statusCode).toBe(202)
    const { taskId } = sent.json()
    const state = await app.tasks.results.wait(taskId, 10_000)
    expect(state).toEqual({ taskId, status: 'SUCCESS', result: 5 })
    const http = await app.http.inject({ method: 'GET', url: `/api/tasks/${taskId}` })
    expect(http.json()).toEqual({ taskId, status: 'SUCCESS', result: 5 })
    const raw = JSON.parse((await app.redis.get(`celery-task-meta-${taskId}`)) as string)
    expect(Object.keys(raw)).toEqual(['status', 'result', 'traceback', 'children', 'date_done', 'task_id'])
    expect(raw.date_done).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?$/)
    expect(await app.redis.ttl(`celery-task-meta-${taskId}`)).toBeGreaterThan(86_000)
  })

  it('answers ping and reports PENDING for an unknown id', async () => {
    const { taskId } = (await send({ name: 'hotspot.ping' })).json()
    expect(await app.tasks.results.wait(taskId, 10_000)).toMatchObject({ status: 'SUCCESS', result: 'pong' })
    const unknown = await app.http.inject({ method: 'GET', url: `/api/tasks/${randomUUID()}` })
    expect(unknown.json().status).toBe('PENDING')
  })

  it('stores hotspot.fail as FAILURE with Celery exception shape and dead-letters it', async () => {
    const { taskId } = (await send({ name: 'hotspot.fail', args: ['boom'] })).json()
    const state = await app.tasks.results.wait(taskId, 10_000)
    expect(state).toEqual({
      taskId,
      status: 'FAILURE',
      error: { type: 'PermanentTaskError', message: 'boom' },
    })
    const raw = JSON.parse((await app.redis.get(`celery-task-meta-${taskId}`)) as string)
    expect(raw.result).toEqual({
      exc_type: 'PermanentTaskError',
      exc_message: ['boom'],
      exc_module: 'hotspot.errors',
    })
    expect(typeof raw.traceback).toBe('string')
    // The worker stores FAILURE first, then publishes the dead letter (Celery's order): it lands moments later.
    await expect
      .poll(listDeadLetters)
      .toContainEqual(expect.objectContaining({ taskId, task: 'hotspot.fail', reason: 'permanent_error' }))
  })

  it('retries with exponential backoff in the broker, then succeeds', async () => {
    const taskId = await app.tasks.producer.send('test.flaky', [2])
    const state = await app.tasks.results.wait(taskId, 20_000)
    expect(state).toEqual({ taskId, status: 'SUCCESS', result: { attempts: 3 } })
    const times = runs.get(taskId) ?? []
    expect(times).toHaveLength(3)
    // Delays of 1 s then 2 s (base 1 s, doubling, no jitter); the delay levels round up to whole seconds.
    expect((times[1] as number) - (times[0] as number)).toBeGreaterThanOrEqual(950)
    expect((times[2] as number) - (times[1] as number)).toBeGreaterThanOrEqual(1950)
    expect((times[2] as number) - (times[0] as number)).toBeLessThan(10_000)
  })

  it('fails for good after maxRetries and records the last error', async () => {
    const taskId = await app.tasks.producer.send('test.flaky', [10])
    const state = await app.tasks.results.wait(taskId, 30_000)
    expect(state).toMatchObject({
      status: 'FAILURE',
      error: { type: 'Exception', message: 'attempt 3 failed' },
    })
    expect(runs.get(taskId)).toHaveLength(4)
    await expect
      .poll(listDeadLetters)
      .toContainEqual(expect.objectContaining({ taskId, reason: 'retries_exhausted' }))
  })

  it('honours RetryTask with its own countdown', async () => {
    const taskId = await app.tasks.producer.send('test.retry-later')
    expect(await app.tasks.results.wait(taskId, 15_000)).toMatchObject({
      status: 'SUCCESS',
      result: 'second time',
    })
    const [first = 0, second = 0] = runs.get(taskId) ?? []
    expect(second - first).toBeGreaterThanOrEqual(950)
  })

  it('runs a countdown task no earlier than asked, without holding it in the worker', async () => {
    const sentAt = Date.now()
    const taskId = await app.tasks.producer.send('test.when', [], {}, { countdown: 2 })
    await new Promise((r) => setTimeout(r, 500))
    expect(runs.get(taskId)).toBeUndefined()
    expect(await app.tasks.results.wait(taskId, 15_000)).toMatchObject({ status: 'SUCCESS' })
    expect((runs.get(taskId)?.[0] as number) - sentAt).toBeGreaterThanOrEqual(1950)
  })

  it('reroutes a Celery-style eta message through the delay queues', async () => {
    // What a Celery 5.2 client sends for countdown=2: an eta header, published straight to the queue.
    const encoded = encodeTask({ name: 'test.when', eta: new Date(Date.now() + 2000) })
    const sentAt = Date.now()
    await publishRaw(`${app.prefix}.hotspot`, encoded)
    expect(await app.tasks.results.wait(encoded.taskId, 15_000)).toMatchObject({ status: 'SUCCESS' })
    expect((runs.get(encoded.taskId)?.[0] as number) - sentAt).toBeGreaterThanOrEqual(1900)
  })

  // RabbitMQ's delay levels end at about 8.5 years; Redis' delayed set has no such limit.
  it.runIf(kind === 'amqp')(
    'dead-letters an eta beyond the delay levels (about 8.5 years) instead of redelivering it forever',
    async () => {
      const encoded = encodeTask({ name: 'test.when', eta: new Date(Date.now() + 10 * 365 * 86_400_000) })
      await publishRaw(`${app.prefix}.hotspot`, encoded)
      const deadline = Date.now() + 15_000
      let dead: DeadLetter[] = []
      while (Date.now() < deadline) {
        dead = (await listDeadLetters()).filter((d) => d.taskId === encoded.taskId)
        if (dead.length) break
        await new Promise((r) => setTimeout(r, 200))
      }
      expect(dead).toEqual([expect.objectContaining({ taskId: encoded.taskId, reason: 'undeliverable' })])
      expect(dead[0]?.error).toMatch(/delay must be at most/)
      expect(runs.get(encoded.taskId)).toBeUndefined()
      // The worker goes on with the next task.
      const next = await app.tasks.producer.send('test.when')
      expect(await app.tasks.results.wait(next, 10_000)).toMatchObject({ status: 'SUCCESS' })
    },
  )

  it('revokes an expired task instead of running it', async () => {
    const taskId = await app.tasks.producer.send(
      'test.when',
      [],
      {},
      { expires: new Date(Date.now() - 1000) },
    )
    expect(await app.tasks.results.wait(taskId, 10_000)).toEqual({
      taskId,
      status: 'REVOKED',
      error: { type: 'TaskRevokedError', message: 'expired' },
    })
    expect(runs.get(taskId)).toBeUndefined()
  })

  it('marks an unknown task FAILURE NotRegistered and dead-letters it', async () => {
    const { taskId } = (await send({ name: 'no.such.task' })).json()
    expect(await app.tasks.results.wait(taskId, 10_000)).toMatchObject({
      status: 'FAILURE',
      error: { type: 'NotRegistered', message: 'no.such.task' },
    })
    await expect
      .poll(listDeadLetters)
      .toContainEqual(expect.objectContaining({ taskId, reason: 'unknown_task' }))
  })

  it('dead-letters poison messages and keeps working', async () => {
    const poison = [
      {
        contentType: 'application/json',
        body: Buffer.from('{"not": json'),
        headers: { task: 'hotspot.ping', id: randomUUID() },
      },
      {
        contentType: 'application/x-python-serialize',
        body: Buffer.from('80049500', 'hex'),
        headers: { task: 'hotspot.ping', id: randomUUID() },
      },
      {
        contentType: 'application/json',
        body: Buffer.from('[[1], {}]'),
        headers: { task: 'hotspot.ping', id: randomUUID() },
      },
      {
        contentType: 'application/json',
        body: Buffer.from('[[], {}, {}]'),
        headers: { task: 'hotspot.ping' },
      },
    ]
    for (const p of poison)
      await publishRaw(`${app.prefix}.celery`, {
        body: p.body,
        properties: { contentType: p.contentType, headers: p.headers },
      })
    const { taskId } = (await send({ name: 'hotspot.ping' })).json()
    expect(await app.tasks.results.wait(taskId, 10_000)).toMatchObject({ status: 'SUCCESS' })
    const reasons = (await listDeadLetters()).map((d) => d.reason)
    expect(reasons).toEqual(
      expect.arrayContaining(['invalid_json', 'unsupported_content_type', 'invalid_body', 'missing_headers']),
    )
  })

  it.runIf(kind === 'redis')(
    'an item that is not a kombu envelope is dead-lettered once, not looped',
    async () => {
      const client = brokerRedis?.client()
      await client?.lpush(`${app.prefix}.celery`, 'not an envelope {')
      await expect
        .poll(async () => (await listDeadLetters()).filter((d) => d.queue === `${app.prefix}.celery`).length)
        .toBeGreaterThan(0)
      const { taskId } = (await send({ name: 'hotspot.ping' })).json()
      expect(await app.tasks.results.wait(taskId, 10_000)).toMatchObject({ status: 'SUCCESS' })
      expect(await client?.llen(`${app.prefix}.celery`)).toBe(0)
      // Acks go out at the end of the worker's turn, just after the result is stored: polled.
      await expect.poll(async () => await client?.hlen('unacked')).toBe(0)
    },
  )

  it('replays a dead letter after the cause is fixed', async () => {
    const taskId = await app.tasks.producer.send('test.needs-fix')
    expect((await app.tasks.results.wait(taskId, 10_000)).status).toBe('FAILURE')
    fixed = true
    // The FAILURE is stored before the message is dead-lettered (Celery's order: state, then links, then the
    // message's fate), so the dead letter may land a moment after the result is visible.
    // Replaying finds nothing (and changes nothing) until it is there.
    let replayed: string[] = []
    await expect
      .poll(
        async () => {
          replayed = await app.tasks.broker.replayDeadLetters(app.tasks.producer, (d) => d.taskId === taskId)
          return replayed
        },
        { timeout: 10_000 },
      )
      .toEqual([taskId])
    await expect
      .poll(async () => (await app.tasks.results.get(taskId)).status, { timeout: 10_000 })
      .toBe('SUCCESS')
    expect((await listDeadLetters()).map((d) => d.taskId)).not.toContain(taskId)
    // Nothing else was taken out of the queue by listing and replaying. (Polled: a quorum queue takes the
    // unacknowledged messages of the closed listing channel back through its log, a moment later.)
    await expect
      .poll(async () => (await app.tasks.broker.depth(DEAD_LETTER_QUEUE)).messages ?? 0, {
        timeout: 10_000,
      })
      .toBeGreaterThan(0)
  })

  it('runs an effect once per task id even when the task runs twice', async () => {
    const key = randomUUID()
    const taskId = await app.tasks.producer.send('test.once', [key])
    expect(await app.tasks.results.wait(taskId, 10_000)).toMatchObject({ status: 'SUCCESS', result: 1 })
    // Deliver the very same task again (as after a crash before the ack): the effect is not repeated.
    await app.redis.del(`celery-task-meta-${taskId}`)
    await app.tasks.producer.send('test.once', [key], {}, { taskId })
    expect(await app.tasks.results.wait(taskId, 10_000)).toMatchObject({ status: 'SUCCESS', result: 1 })
    expect(await app.redis.get(`${app.prefix}:once:${key}`)).toBe('1')
  })

  it('refuses bad task requests with 400 and 401', async () => {
    expect(
      (await app.http.inject({ method: 'POST', url: '/api/tasks', payload: { name: 'hotspot.ping' } }))
        .statusCode,
    ).toBe(401)
    expect((await send({ name: '' })).json().error.field).toBe('body.name')
    expect((await send({ name: 'hotspot.add', countdown: -1 })).json().error.field).toBe('body.countdown')
    expect((await send({ name: 'hotspot.add', args: 'x' })).json().error.field).toBe('body.args')
  })
})
