import { Metadata, type ServiceError, status } from '@grpc/grpc-js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ADMIN_TOKEN, type TestApp } from '../support/app.ts'
import { bearer, client, eventually, startGrpcApp } from './support.ts'

type TaskState = {
  task_id: string
  status: string
  result_json: string
  error: { type: string; message: string } | null
}

describe('hotspot.v1.Tasks', () => {
  let app: TestApp & { address: string }
  let tasks: ReturnType<typeof client>
  const admin = () => bearer(ADMIN_TOKEN)
  const send = (request: Record<string, unknown>, metadata = admin()) =>
    tasks.unary<{ task_id: string }>('Send', request, metadata)
  const get = (taskId: string, metadata = admin()) =>
    tasks.unary<TaskState>('Get', { task_id: taskId }, metadata)
  const expectError = (error: ServiceError | undefined, code: status, field?: string) => {
    expect(error?.code).toBe(code)
    if (field) expect(error?.details).toMatch(new RegExp(`^${field}: `))
  }
  const settled = async (taskId: string) => {
    let state: TaskState | undefined
    await eventually(async () => {
      state = (await get(taskId)).reply
      return state?.status === 'SUCCESS' || state?.status === 'FAILURE'
    }, 20_000)
    return state as TaskState
  }

  beforeAll(async () => {
    app = await startGrpcApp()
    await app.start(['worker'])
    tasks = client(app.address, 'hotspot.v1.Tasks')
  })
  afterAll(async () => {
    tasks.close()
    await app.close()
  })

  it('Send and Get run a task end to end, like POST /api/tasks and GET /api/tasks/:id', async () => {
    const { reply, error } = await send({ name: 'hotspot.add', args_json: '[2, 3]' })
    expect(error).toBeUndefined()
    const state = await settled(reply?.task_id as string)
    expect(state).toMatchObject({ task_id: reply?.task_id, status: 'SUCCESS', result_json: '5', error: null })
    const http = await app.http.inject({ method: 'GET', url: `/api/tasks/${reply?.task_id}` })
    expect(http.json()).toMatchObject({ status: 'SUCCESS', result: 5 })
  })

  it('kwargs, queue and countdown are passed on; a failure comes back with its type and message', async () => {
    const { reply } = await send({
      name: 'hotspot.fail',
      kwargs_json: '{"message": "from grpc"}',
      queue: app.config.tasks.ownQueue,
      countdown: 0.2,
    })
    const state = await settled(reply?.task_id as string)
    expect(state.status).toBe('FAILURE')
    expect(state.error?.message).toMatch(/from grpc/)
    expect(state.result_json).toBe('')
  })

  it('Get of an unknown id is PENDING, as over HTTP', async () => {
    const { reply } = await get('no-such-task')
    expect(reply).toMatchObject({ task_id: 'no-such-task', status: 'PENDING', result_json: '' })
  })

  it('needs the admin token: none, a wrong one or one without Bearer is UNAUTHENTICATED', async () => {
    const notBearer = new Metadata()
    notBearer.set('authorization', ADMIN_TOKEN)
    for (const metadata of [new Metadata(), bearer('not-the-token'), notBearer]) {
      expectError((await send({ name: 'hotspot.ping' }, metadata)).error, status.UNAUTHENTICATED)
      expectError((await get('any', metadata)).error, status.UNAUTHENTICATED)
    }
  })

  it('bad input is INVALID_ARGUMENT naming the field', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ name: '' }, 'name'],
      [{ name: 'has space' }, 'name'],
      [{ name: 'hotspot.add', args_json: '{' }, 'args_json'],
      [{ name: 'hotspot.add', args_json: '{"a": 1}' }, 'args_json'],
      [{ name: 'hotspot.add', args_json: JSON.stringify(Array(1001).fill(0)) }, 'args_json'],
      [{ name: 'hotspot.add', kwargs_json: '[1]' }, 'kwargs_json'],
      [{ name: 'hotspot.add', kwargs_json: 'null' }, 'kwargs_json'],
      [{ name: 'hotspot.add', queue: 'no/slash' }, 'queue'],
      [{ name: 'hotspot.add', countdown: -1 }, 'countdown'],
      [{ name: 'hotspot.add', countdown: 1e12 }, 'countdown'],
    ]
    for (const [request, field] of cases)
      expectError((await send(request)).error, status.INVALID_ARGUMENT, field)
    expectError((await get('')).error, status.INVALID_ARGUMENT, 'task_id')
    // Over 64 KiB, like an HTTP body over the limit: refused before it is parsed.
    const huge = JSON.stringify(['x'.repeat(70 * 1024)])
    expectError((await send({ name: 'hotspot.add', args_json: huge })).error, status.RESOURCE_EXHAUSTED)
    expectError((await get('x'.repeat(201))).error, status.INVALID_ARGUMENT, 'task_id')
  })
})
