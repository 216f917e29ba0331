import fs from 'node:fs'
import path from 'node:path'
import type { ConnectionOptions } from 'node:tls'
import { fileURLToPath } from 'node:url'
import { Cluster, type ClusterNode, type ClusterOptions, Redis, type RedisOptions } from 'ioredis'
import { splitUrlList } from '../config.ts'
import type { Logger } from './logger.ts'
import { isSentinelUrl, parseSentinelUrl } from './sentinel-url.ts'

/** A single node or a Cluster: features use only commands both support, and hash-tag every script's keys. */
export type RedisClient = Redis | Cluster

export interface RedisConnectOptions {
  lazyConnect?: boolean
  log?: Logger
  /** A command with no answer within this fails (→ 503): a hung (SIGSTOPped) server never hangs a request. */
  commandTimeoutMs?: number
}

export function createRedis(url: string, options: RedisConnectOptions = {}): RedisClient {
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

function connect(url: string, options: RedisConnectOptions): RedisClient {
  if (isSentinelUrl(url)) return new Redis(sentinelOptions(url, options))
  const urls = splitUrlList(url)
  const built = redisOptions(urls, options)
  if ('nodes' in built) {
    const cluster = new Cluster(built.nodes, built.options)
    boundClusterQueue(cluster, built.options.redisOptions?.commandTimeout)
    return cluster
  }
  return new Redis(urls[0] as string, built.options)
}

/**
 * ioredis' options for one URL (`Redis`) or a list of cluster nodes (`Cluster`). The credentials and TLS of the
 * URLs go into `redisOptions`, which ioredis uses for every node, the ones it discovers included. Kept pure so
 * the building is unit-tested.
 */
export function redisOptions(
  urls: string[],
  options: Pick<RedisConnectOptions, 'lazyConnect' | 'commandTimeoutMs'> = {},
): { options: RedisOptions } | { nodes: ClusterNode[]; options: ClusterOptions } {
  const first = new URL(urls[0] as string)
  const tls = tlsOptions(first)
  const perConnection: RedisOptions = {
    commandTimeout: options.commandTimeoutMs ?? 3000,
    // Fail fast while disconnected so a request gets a 503 instead of waiting in the offline queue.
    maxRetriesPerRequest: 1,
    ...(tls ? { tls } : {}),
  }
  const common = {
    // Hot paths issue many tiny commands; auto-pipelining batches those of one event-loop turn (~2.5x req/s).
    enableAutoPipelining: true,
    lazyConnect: options.lazyConnect ?? false,
  }
  if (urls.length === 1) {
    return {
      options: {
        ...common,
        ...perConnection,
        retryStrategy: (times) => Math.min(times * 100, 2000),
      },
    }
  }
  const nodes = urls.map((u) => {
    const parsed = new URL(u)
    if ((parsed.protocol === 'rediss:') !== Boolean(tls))
      throw new Error(
        'REDIS_URL: every node of a cluster list needs the same scheme (all redis:// or all rediss://)',
      )
    return { host: parsed.hostname.replace(/^\[|\]$/g, ''), port: Number(parsed.port || 6379) }
  })
  return {
    nodes,
    options: {
      ...common,
      redisOptions: {
        ...perConnection,
        username: decodeURIComponent(first.username) || undefined,
        password: decodeURIComponent(first.password) || undefined,
      },
      // With TLS connect to the names as given: resolving them to addresses first breaks the certificate's
      // host name check (ioredis' advice for TLS clusters).
      ...(tls
        ? { dnsLookup: (address: string, callback: (e: null, a: string) => void) => callback(null, address) }
        : {}),
    },
  }
}

/**
 * ioredis' Sentinel mode: it asks the sentinels for the master, reconnects to the new one after a fail-over, and
 * with the same command timeout and one retry a request fails fast (→ 503) while no master is elected.
 */
export function sentinelOptions(
  url: string,
  options: Pick<RedisConnectOptions, 'lazyConnect' | 'commandTimeoutMs'> = {},
): RedisOptions {
  const target = parseSentinelUrl(url)
  return {
    sentinels: target.sentinels,
    name: target.masterName,
    db: target.db,
    // One password for the sentinels and the data nodes, as Celery's URL carries only one.
    username: target.username,
    password: target.password,
    sentinelPassword: target.password,
    commandTimeout: options.commandTimeoutMs ?? 3000,
    maxRetriesPerRequest: 1,
    enableAutoPipelining: true,
    lazyConnect: options.lazyConnect ?? false,
    sentinelMaxConnections: 3,
    retryStrategy: (times) => Math.min(times * 100, 2000),
    sentinelRetryStrategy: (times) => Math.min(times * 100, 2000),
    // A master that turned replica (a stale view of the fail-over) answers READONLY: reconnect to the new one.
    reconnectOnError: (error) => error.message.startsWith('READONLY'),
  }
}

/**
 * TLS for `rediss://`, with the options a node URL's query may carry (the same for one node and for a cluster):
 * `servername`, `ca` / `cert` / `key` (PEM file paths) and `rejectUnauthorized=false` (testing only).
 */
function tlsOptions(url: URL): ConnectionOptions | undefined {
  if (url.protocol !== 'rediss:') return undefined
  const query = url.searchParams
  const file = (name: string) => {
    const value = query.get(name)
    return value ? fs.readFileSync(value) : undefined
  }
  const tls: ConnectionOptions = {}
  const servername = query.get('servername')
  if (servername) tls.servername = servername
  for (const name of ['ca', 'cert', 'key'] as const) {
    const content = file(name)
    if (content) tls[name] = content
  }
  if (query.get('rejectUnauthorized') === 'false') tls.rejectUnauthorized = false
  return tls
}

/**
 * Redis Cluster queues commands while it is not connected and never times them out there (commandTimeout starts
 * only once a node has the command); arming the command's own timeout on entry bounds that wait too. After the
 * first connection the queue is switched off: during an outage commands fail at once (→ 503) instead of piling up.
 */
function boundClusterQueue(cluster: Cluster, timeoutMs: number | undefined) {
  const send = cluster.sendCommand.bind(cluster)
  cluster.sendCommand = ((command: Parameters<Cluster['sendCommand']>[0], ...rest: unknown[]) => {
    if (timeoutMs) command.setTimeout(timeoutMs)
    return (send as (...a: unknown[]) => unknown)(command, ...rest)
  }) as Cluster['sendCommand']
  cluster.once('ready', () => {
    cluster.options.enableOfflineQueue = false
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
    if (client instanceof Cluster) return await clusterServesEverySlot(client)
    return (await client.ping()) === 'PONG'
  } catch {
    return false
  }
}

const SLOTS = 16_384

/**
 * A PING to any node says nothing about a Cluster with a dead master. Ready only while every slot has a master
 * this client is connected to, each of those masters answers, and the cluster itself says `cluster_state:ok`.
 */
async function clusterServesEverySlot(cluster: Cluster): Promise<boolean> {
  const masters = new Map(
    cluster.nodes('master').map((node) => [`${node.options.host}:${node.options.port}`, node]),
  )
  if (masters.size === 0) return false
  for (let slot = 0; slot < SLOTS; slot++) {
    const owner = cluster.slots[slot]?.[0]
    if (owner === undefined || !masters.has(owner)) {
      // ioredis reloads the slot map only on a MOVED: ask for it, so readiness returns once a replica took over.
      cluster.refreshSlotsCache()
      return false
    }
  }
  const answers = await Promise.all(
    [...masters.values()].map(async (node) => {
      const [pong, info] = await Promise.all([node.ping(), node.cluster('INFO') as Promise<string>])
      return pong === 'PONG' && /cluster_state:ok/.test(info)
    }),
  )
  return answers.every(Boolean)
}
