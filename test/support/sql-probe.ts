/**
 * A Kysely plugin the test apps' database goes through: it records every statement, and lets a test make
 * statements fail (a database that is down) or pause after their rows came back (a slow read). Injected as the
 * app's database (`createApp({ database })`), so production code carries no test hooks.
 */
import type {
  KyselyPlugin,
  PluginTransformQueryArgs,
  PluginTransformResultArgs,
  QueryId,
  QueryResult,
  RootOperationNode,
  UnknownRow,
} from 'kysely'
import type { Db } from '../../src/infra/db/index.ts'

export interface SqlProbe {
  /** Every statement sent, in order (tests count them: "500 misses cause one SQL query"). */
  queries: string[]
  /** Runs before each statement is sent; throw to fail it as a down database would. */
  before?: (sql: string) => void
  /** Runs after each statement's rows came back, before the caller sees them; return a promise to pause. */
  after?: (sql: string) => Promise<void> | void
}

/** `base` with the probe in front of it (same connections; destroying either closes them). */
export function probed(base: Db): { db: Db; probe: SqlProbe } {
  const probe: SqlProbe = { queries: [] }
  const sqlOf = new WeakMap<QueryId, string>()
  const plugin: KyselyPlugin = {
    transformQuery({ node, queryId }: PluginTransformQueryArgs): RootOperationNode {
      const text = base.getExecutor().compileQuery(node, queryId).sql
      sqlOf.set(queryId, text)
      probe.queries.push(text)
      probe.before?.(text)
      return node
    },
    async transformResult({ result, queryId }: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
      const text = sqlOf.get(queryId)
      if (text !== undefined) await probe.after?.(text)
      return result
    },
  }
  return { db: base.withPlugin(plugin), probe }
}
