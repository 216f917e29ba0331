import { createApp } from '../../app.ts'
import type { Config } from '../../config.ts'
import { createLogger } from '../../infra/logger.ts'
import { createReconciler } from '../../seckill/reconcile.ts'
import { createSeckillStores } from '../../seckill/stores.ts'
import { say } from '../common.ts'
import { withServers } from './servers.ts'

/** `hotspot seckill reconcile [product id]`: one reconciliation run, its report as JSON on stdout. */
export async function reconcileOnce(config: Config, productId: number | undefined) {
  // The report is the output (stdout): the reconciler's own "repaired drift" warning would only repeat it.
  const log = createLogger('error')
  const { servers, redisUrl, amqpUrl } = await withServers(config)
  const app = await createApp({ config, redisUrl, amqpUrl, adminToken: 'unused-for-cli-commands', log })
  try {
    await app.prepare()
    await app.tasks.broker.ready()
    const reconcile = createReconciler({
      redis: app.redis,
      prefix: config.keyPrefix,
      stores: createSeckillStores({ db: app.db, redis: app.redis, prefix: config.keyPrefix }),
      producer: app.tasks.producer,
      results: app.tasks.results,
      log,
      resendAfterMs: config.seckill.resendAfterSeconds * 1000,
    })
    const report = await reconcile({ productId })
    process.stdout.write(`${JSON.stringify(report)}\n`)
    say(
      `reconciled ${report.products} product(s): ${report.resent} order(s) re-sent, ${report.drift.length} remaining fixed, ${report.restoredBuyers} admission(s) and ${report.restoredProducts} product(s) restored`,
    )
  } finally {
    await app.close()
    await servers?.stop()
  }
}
