import { randomUUID } from 'node:crypto'
import { Writable } from 'node:stream'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { createLogger } from '../../src/infra/logger.ts'
import { listDeadLetters } from '../../src/tasks/dlq.ts'
import { startTestApp, type TestApp } from '../support/app.ts'

const PHONE = '13812345678'
const CODE = '482913'

/** The real logger (its serializers and redaction), writing JSON lines the test can search. */
function capture() {
  const lines: string[] = []
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk))
      done()
    },
  })
  return { log: createLogger('debug', 'hotspot', 'json', stream), lines, text: () => lines.join('') }
}

describe('log hygiene: errors never carry the data they were about', () => {
  let redis: Redis
  beforeAll(() => {
    redis = new Redis(inject('redisUrl'), { lazyConnect: false, maxRetriesPerRequest: 1 })
  })
  afterAll(() => redis?.disconnect())

  it("a Redis error is logged without the failed command's arguments (keys and values hold phones)", async () => {
    const key = `hygiene:sms:${PHONE}:${randomUUID()}`
    await redis.set(key, `code ${CODE}`, 'EX', 60)
    const error = await redis.incrby(key, 1).catch((e: unknown) => e as Error)
    expect(error).toBeInstanceOf(Error)
    // The library does attach them: this is what must not be printed.
    expect(JSON.stringify((error as { command?: unknown }).command)).toContain(PHONE)

    const { log, text } = capture()
    log.warn({ err: error }, 'redis failed')
    log.error({ err: new Error('wrapped', { cause: error }) }, 'wrapped failure')
    log.warn({ error }, 'under another key')
    const out = text()
    expect(out).toContain('not an integer') // the reason stays
    expect(out).toContain('"name":"incrby"') // and which command
    expect(out).not.toContain(PHONE)
    expect(out).not.toContain(CODE)
  })

  it('a JSON parse error is logged without the input it quotes', () => {
    let error: unknown
    try {
      JSON.parse(`["${PHONE}", y]`) // short: V8 quotes it whole
    } catch (caught) {
      error = caught
    }
    expect((error as Error).message).toContain(PHONE) // V8 quotes the input around the fault
    const { log, text } = capture()
    log.warn({ err: error }, 'bad message')
    expect(text()).toContain('not valid JSON')
    expect(text()).not.toContain(PHONE)
  })
})

describe('log hygiene: a task message that is not JSON', () => {
  let app: TestApp
  const logged = capture()

  beforeAll(async () => {
    app = await startTestApp({ log: logged.log })
    await app.start(['worker'])
  })
  afterAll(async () => {
    await app?.close()
  })

  it('is dead-lettered with a reason that quotes none of its body, and logged the same way', async () => {
    const id = randomUUID()
    const publisher = app.amqp.createPublisher({ confirm: true })
    await publisher.send(
      {
        exchange: '',
        routingKey: `${app.prefix}.celery`,
        contentType: 'application/json',
        headers: { task: 'hotspot.ping', id },
      },
      Buffer.from(`["${PHONE}", y]`),
    )
    await publisher.close()
    let dead: Awaited<ReturnType<typeof listDeadLetters>>[number] | undefined
    await expect
      .poll(
        async () => {
          dead = (await listDeadLetters(app.amqp)).find((d) => d.taskId === id)
          return dead?.reason
        },
        { timeout: 10_000 },
      )
      .toBe('invalid_json')
    expect(dead?.error).toBe('body is not valid JSON: unexpected token')
    expect(logged.text()).toContain('task message rejected')
    expect(logged.text()).not.toContain(PHONE)
    expect(logged.text()).not.toContain(CODE)
  })
})
