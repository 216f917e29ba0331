import { describe, expect, it } from 'vitest'
import { createLifecycle } from '../../src/infra/lifecycle.ts'

function recorder() {
  const events: string[] = []
  const part = (name: string, options: { failStart?: boolean; failStop?: boolean } = {}) => ({
    name,
    start: async (arg: string) => {
      await Promise.resolve()
      if (options.failStart) throw new Error(`${name} cannot start`)
      events.push(`start ${name} ${arg}`)
    },
    stop: async () => {
      await Promise.resolve()
      events.push(`stop ${name}`)
      if (options.failStop) throw new Error(`${name} cannot stop`)
    },
  })
  return { events, part }
}

describe('lifecycle', () => {
  it('starts the parts in the order they were added, each after the previous one finished', async () => {
    const { events, part } = recorder()
    const lifecycle = createLifecycle<string>()
    for (const name of ['infra', 'tasks', 'counters']) lifecycle.add(part(name))
    await lifecycle.start('api')
    expect(events).toEqual(['start infra api', 'start tasks api', 'start counters api'])
  })

  it('closes them in the reverse order', async () => {
    const { events, part } = recorder()
    const lifecycle = createLifecycle<string>()
    for (const name of ['infra', 'tasks', 'counters']) lifecycle.add(part(name))
    await lifecycle.start('api')
    events.length = 0
    await lifecycle.close()
    expect(events).toEqual(['stop counters', 'stop tasks', 'stop infra'])
  })

  it('a failing start starts nothing after it and closes what was built, in reverse, then rethrows', async () => {
    const { events, part } = recorder()
    const lifecycle = createLifecycle<string>()
    lifecycle.add(part('infra'))
    lifecycle.add(part('grpc', { failStart: true }))
    lifecycle.add(part('presence'))
    await expect(lifecycle.start('grpc')).rejects.toThrow('grpc cannot start')
    expect(events).toEqual(['start infra grpc', 'stop presence', 'stop grpc', 'stop infra'])
    await expect(lifecycle.start('api')).rejects.toThrow('closing')
  })

  it('closes once: concurrent and later calls wait for the first close', async () => {
    const { events, part } = recorder()
    const lifecycle = createLifecycle<string>()
    lifecycle.add(part('infra'))
    lifecycle.add(part('http'))
    await Promise.all([lifecycle.close(), lifecycle.close()])
    await lifecycle.close()
    expect(events).toEqual(['stop http', 'stop infra'])
  })

  it('a part failing to stop does not keep the others open; its error is reported and rethrown', async () => {
    const { events, part } = recorder()
    const reported: string[] = []
    const lifecycle = createLifecycle<string>((name) => reported.push(name))
    lifecycle.add(part('infra'))
    lifecycle.add(part('sms', { failStop: true }))
    lifecycle.add(part('http'))
    await expect(lifecycle.close()).rejects.toThrow('sms cannot stop')
    expect(events).toEqual(['stop http', 'stop sms', 'stop infra'])
    expect(reported).toEqual(['sms'])
  })

  it('parts without start or stop are fine', async () => {
    const lifecycle = createLifecycle<string>()
    lifecycle.add({ name: 'bare' })
    await lifecycle.start('api')
    await lifecycle.close()
  })
})
