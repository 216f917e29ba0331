/**
 * /readyz on a Redis Cluster with a dead master: 503 from the moment the master dies until its replica serves its
 * slots, then 200 again unaided. A Redis Cluster of its own, so killing a node never disturbs other test files.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { onCluster, startTestApp, type TestApp } from '../support/app.ts'
import { type RunningRedisCluster, startRedisCluster } from '../support/local-clusters.ts'
import { sleep, tempDir, until } from './support.ts'

describe.runIf(onCluster)('Redis Cluster readiness', () => {
  let tmp: ReturnType<typeof tempDir> | undefined
  let starting: Promise<RunningRedisCluster> | undefined
  let cluster: RunningRedisCluster
  let app: TestApp
  beforeAll(async () => {
    tmp = tempDir('redis-readiness')
    starting = startRedisCluster({ dir: tmp.dir, nodeTimeoutMs: 2000 })
    cluster = await starting
    app = await startTestApp({ db: 'postgres', redisUrl: cluster.url })
  })
  afterAll(async () => {
    await app?.close()
    await starting?.then((c) => c.stop()).catch(() => {})
    tmp?.remove()
  })

  const readyz = async () => {
    const res = await app.http.inject({ method: 'GET', url: '/readyz' })
    return { status: res.statusCode, redis: res.json().checks.redis as string }
  }

  it('is 503 while a master is dead (a PING to a live node is not enough), 200 again after the fail-over', async () => {
    expect(await readyz()).toEqual({ status: 200, redis: 'ok' })
    const [victim] = await cluster.masters()
    if (!victim) throw new Error('no master found')
    process.kill(victim.pid, 'SIGKILL')
    await sleep(100)
    // Within the node timeout (2 s) nobody has failed over yet: its slots have no master.
    const answers: { status: number; redis: string }[] = []
    for (let i = 0; i < 10; i++) {
      answers.push(await readyz())
      await sleep(100)
    }
    expect(answers.filter((a) => a.status !== 503 || a.redis !== 'failing')).toEqual([])
    await cluster.waitHealthy(30_000)
    await until('ready again after the fail-over', async () => (await readyz()).status === 200, 30_000)
  })
})
