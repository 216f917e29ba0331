import { createApp } from '../../app.ts'
import type { Config } from '../../config.ts'
import { createLogger } from '../../infra/logger.ts'
import { say } from '../common.ts'
import { withServers } from './servers.ts'

/** `hotspot tasks dlq` (`target` unset) and `hotspot tasks replay <id|--all>` (`target` an id or 'all'). */
export async function deadLetters(config: Config, target?: { all: true } | { id: string }) {
  const log = createLogger('warn')
  const { servers, redisUrl, amqpUrl } = await withServers(config)
  const app = await createApp({ config, redisUrl, amqpUrl, adminToken: 'unused-for-cli-commands', log })
  try {
    await app.tasks.broker.ready()
    if (!target) {
      const letters = await app.tasks.broker.listDeadLetters()
      if (letters.length === 0) say('the dead-letter queue is empty')
      for (const l of letters) {
        process.stdout.write(`${l.taskId}\t${l.task}\t${l.reason}\t${l.deadAt}\t${l.error ?? ''}\n`)
      }
    } else {
      const ids = await app.tasks.broker.replayDeadLetters(
        app.tasks.producer,
        (l) => 'all' in target || l.taskId === target.id,
      )
      const named = 'all' in target ? '--all' : target.id
      say(ids.length ? `replayed ${ids.length}: ${ids.join(', ')}` : `no dead letter matches ${named}`)
      if (!ids.length && !('all' in target)) process.exitCode = 1
    }
  } finally {
    await app.close()
    await servers?.stop()
  }
}
