import { randomUUID } from 'node:crypto'
import net from 'node:net'
import { afterAll, describe, expect, inject, it } from 'vitest'
import { createLock, withLock } from '../../src/infra/lock/index.ts'
import { createRedis, type RedisClient } from '../../src/infra/redis.ts'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

describe('Redis lock', () => {
  const clients: RedisClient[] = []
  const client = () => {
    const c = createRedis(inject('redisUrl'))
    clients.push(c)
    return c
  }
  const redis = client()
  const key = () => `tlock:{${randomUUID()}}`
  afterAll(() => {
    for (const c of clients) c.disconnect()
  })

  it('a holder past its TTL cannot free the lock of the one who took it next', async () => {
    const k = key()
    const first = createLock(redis, k, { ttlMs: 200, renewEveryMs: 0 })
    const second = createLock(client(), k, { ttlMs: 10_000 })
    expect(await first.tryAcquire()).toBe(true)
    expect(await second.tryAcquire()).toBe(false)
    await sleep(300) // the first holder is stalled past its ttl: the lock expires in Redis
    expect(first.held()).toBe(false)
    expect(await second.tryAcquire()).toBe(true)
    expect(await first.release()).toBe(false)
    expect(await redis.exists(k)).toBe(1)
    expect(second.held()).toBe(true)
    // Nobody else gets in while the second holds it.
    expect(await createLock(client(), k, { ttlMs: 1000 }).tryAcquire()).toBe(false)
    expect(await second.release()).toBe(true)
    expect(await redis.exists(k)).toBe(0)
  })

  it('renewal keeps a holder that runs far longer than the TTL', async () => {
    const k = key()
    const holder = createLock(redis, k, { ttlMs: 300 })
    expect(await holder.tryAcquire()).toBe(true)
    for (let i = 0; i < 5; i++) {
      await sleep(250)
      expect(await createLock(client(), k, { ttlMs: 300 }).tryAcquire()).toBe(false)
      expect(holder.held()).toBe(true)
    }
    expect(await holder.release()).toBe(true)
    expect(await createLock(client(), k, { ttlMs: 300 }).tryAcquire()).toBe(true)
  })

  it('concurrent acquirers on several connections: exactly one wins each round', async () => {
    const connections = [redis, client(), client(), client()]
    for (let round = 0; round < 20; round++) {
      const k = key()
      const locks = Array.from({ length: 40 }, (_, i) =>
        createLock(connections[i % connections.length] as RedisClient, k, { ttlMs: 5000 }),
      )
      const won = await Promise.all(locks.map((l) => l.tryAcquire()))
      expect(won.filter(Boolean)).toHaveLength(1)
      const winner = locks[won.indexOf(true)]
      expect(await redis.pttl(k)).toBeGreaterThan(0)
      // Only the winner's release frees it.
      for (const [i, l] of locks.entries()) if (!won[i]) expect(await l.release()).toBe(false)
      expect(await redis.exists(k)).toBe(1)
      expect(await winner?.release()).toBe(true)
    }
  })

  it('a holder whose lock was taken over is told so and stops renewing it', async () => {
    const k = key()
    let lost = 0
    const holder = createLock(redis, k, { ttlMs: 1000, renewEveryMs: 50, onLost: () => lost++ })
    expect(await holder.tryAcquire()).toBe(true)
    await redis.set(k, 'someone-else', 'PX', 5000)
    await sleep(200)
    expect(lost).toBe(1)
    expect(holder.held()).toBe(false)
    expect(await redis.get(k)).toBe('someone-else')
    expect(await redis.pttl(k)).toBeGreaterThan(4000)
  })

  it('withLock runs the work once among concurrent callers and frees the lock after it', async () => {
    const k = key()
    let runs = 0
    const results = await Promise.all(
      Array.from({ length: 10 }, () =>
        withLock(redis, k, { ttlMs: 5000 }, async () => {
          runs++
          await sleep(50)
          return 'done'
        }),
      ),
    )
    expect(runs).toBe(1)
    expect(results.filter((r) => r.acquired)).toEqual([{ acquired: true, value: 'done' }])
    expect(await redis.exists(k)).toBe(0)
    // With waitMs, a later caller waits for the holder instead of giving up.
    const holder = createLock(redis, k, { ttlMs: 5000 })
    await holder.tryAcquire()
    setTimeout(() => void holder.release(), 100)
    expect(await withLock(redis, k, { ttlMs: 5000, waitMs: 3000, retryMs: 20 }, async () => 1)).toEqual({
      acquired: true,
      value: 1,
    })
  })

  it('every call has a timeout: a Redis that never answers fails the acquire instead of hanging it', async () => {
    // A server that accepts connections and never replies (a hung, SIGSTOPped Redis looks the same).
    const sockets: net.Socket[] = []
    const silent = net.createServer((socket) => sockets.push(socket))
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r))
    const { port } = silent.address() as net.AddressInfo
    const hung = createRedis(`redis://127.0.0.1:${port}`)
    const lock = createLock(hung, key(), { ttlMs: 3000, callTimeoutMs: 200 })
    await expect(lock.tryAcquire()).rejects.toMatchObject({ code: 'ETIMEDOUT' })
    expect(lock.held()).toBe(false)
    expect(await lock.release()).toBe(false)
    hung.disconnect()
    for (const socket of sockets) socket.destroy()
    await new Promise((r) => silent.close(r))
  })
})
