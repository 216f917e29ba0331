import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { Cluster, Redis } from 'ioredis'
import { splitUrlList } from '../config.ts'
import type { Logger } from './logger.ts'

/** A single node or a Cluster: features use only commands both support, and hash-tag every script's keys. */
export type RedisClient = Redis | Cluster

export function createRedis(url: string, options: { lazyConnect?: boolean; log?: Logger } = {}): RedisClient {
  const client = connect(url, options)
  // Without a listener ioredis prints every failed reconnect; log an outage once and its end once.
  let down = false
  client.on('error', (error: Error) => {
    if (!down) options.log?.warn({ err: error }, 'Redis unreachable, reconnecting')
    down = true
  })
  client.on('ready', () => {
    if (down) options.log?.info('Redis connection re-established')
    down = false
  })
  return client
}

function connect(url: string, options: { lazyConnect?: boolean }): RedisClient {
  const urls = splitUrlList(url)
  const common = {
    // Hot paths issue many tiny commands; auto-pipelining batches those of one event-loop turn (~2.5x req/s).
    enableAutoPipelining: true,
    lazyConnect: options.lazyConnect ?? false,
  }
  if (urls.length > 1) {
    const nodes = urls.map((u) => {
      const parsed = new URL(u)
      return { host: parsed.hostname, port: Number(parsed.port || 6379) }
    })
    const first = new URL(urls[0] as string)
    return new Cluster(nodes, {
      ...common,
      redisOptions: { password: first.password || undefined, username: first.username || undefined },
    })
  }
  return new Redis(urls[0] as string, {
    ...common,
    // Fail fast while disconnected so a request gets a 503 instead of hanging in the offline queue.
    maxRetriesPerRequest: 1,
    retryStrategy: (times) => Math.min(times * 100, 2000),
  })
}

/**
 * Registers every `<name>-<numberOfKeys>.lua` file of a folder as a command on the client. ioredis'
 * `defineCommand` already does EVALSHA with the NOSCRIPT fallback per connection and per cluster node, so a
 * restarted or `SCRIPT FLUSH`ed Redis is handled without code of ours.
 * `reserve-stock-3.lua` becomes `client.reserveStock(key1, key2, key3, ...args)`; `record-views.lua` (no count)
 * becomes `client.recordViews(numberOfKeys, ...keys, ...args)`.
 */
export function loadScripts(client: RedisClient, folder: string | URL): string[] {
  const dir = folder instanceof URL ? fileURLToPath(folder) : folder
  const names: string[] = []
  for (const file of fs.readdirSync(dir).sort()) {
    const match = /^([a-z0-9-]+?)(?:-(\d+))?\.lua$/.exec(file)
    if (!match) continue
    const [, kebab = '', keys] = match
    const name = kebab.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase())
    if (typeof (client as unknown as Record<string, unknown>)[name] === 'function') {
      // Never shadow a real Redis command (or another script) with a script of the same name.
      throw new Error(`Lua script ${file} would shadow an existing command ${name}`)
    }
    // No key count in the name (`record-views.lua`): the caller passes it first, for scripts with variable keys.
    const numberOfKeys = keys === undefined ? undefined : Number(keys)
    client.defineCommand(name, { numberOfKeys, lua: fs.readFileSync(path.join(dir, file), 'utf8') })
    // Cluster auto-pipelining picks a node from a call's first argument, which for such a script is the key
    // count, not a key: it would batch the call with another node's commands and fail. Send these directly.
    if (numberOfKeys === undefined && client instanceof Cluster) {
      client.options.autoPipeliningIgnoredCommands = [
        ...(client.options.autoPipeliningIgnoredCommands ?? []),
        name,
      ]
    }
    names.push(name)
  }
  return names
}

/** Calls a script registered by `loadScripts`; keeps the untyped dynamic call in one place. */
export function callScript<T>(client: RedisClient, name: string, keys: string[], args: (string | number)[]) {
  const fn = (client as unknown as Record<string, (...a: (string | number)[]) => Promise<T>>)[name]
  if (!fn) throw new Error(`Lua script ${name} is not loaded`)
  return fn.call(client, ...keys, ...args)
}

export async function pingRedis(client: RedisClient): Promise<boolean> {
  try {
    return (await client.ping()) === 'PONG'
  } catch {
    return false
  }
}
