import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { Redis } from 'ioredis'
import { type RunningServer, startRedis } from '../../../src/infra/local-servers.ts'

/**
 * A Redis of the test file's own: kombu's `unacked` hash, `unacked_index` and `unacked_mutex` are global names
 * on a broker, and a test that restores "everything past the visibility timeout" must not touch other files'.
 */
export async function startPrivateRedis(): Promise<RunningServer & { client(): Redis }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hotspot-broker-redis-'))
  const server = await startRedis({ dir })
  const clients: Redis[] = []
  return {
    ...server,
    client() {
      const c = new Redis(server.url, { commandTimeout: 5000 })
      clients.push(c)
      return c
    },
    async stop() {
      for (const c of clients) c.disconnect()
      await server.stop()
      fs.rmSync(dir, { recursive: true, force: true })
    },
  }
}
