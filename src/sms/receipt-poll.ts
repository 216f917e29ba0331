import type { Logger } from '../infra/logger.ts'
import type { Schedule, TaskRegistry } from '../tasks/types.ts'
import type { PhoneVault } from './phone-vault.ts'
import { type AliyunSettings, queryAliyunReport } from './providers/aliyun.ts'
import type { SmsStore } from './store.ts'

export const ALIYUN_RECEIPTS_TASK = 'hotspot.sms.aliyun-receipts'
/** Aliyun keeps a message's report queryable for days; hotspot asks for three (a handset off that long is lost). */
const POLL_WINDOW_MS = 3 * 24 * 3_600_000
/** Messages asked about per run (QuerySendDetails is one call per message). */
const PER_RUN = 200

/**
 * Aliyun's receipts are polled (its push needs a message queue subscription): every ALIYUN_RECEIPT_POLL_SECONDS
 * the beat sends this task, which asks QuerySendDetails about each part Aliyun took and has not reported on.
 * The answer comes from Aliyun under our signature, so nobody else can change a status through it.
 */
export function registerAliyunReceipts(
  registry: TaskRegistry,
  schedule: Schedule,
  deps: {
    store: SmsStore
    phones: PhoneVault
    settings: AliyunSettings
    timeoutMs: number
    pollSeconds: number
    log: Logger
  },
) {
  const { store, phones, settings, timeoutMs, log } = deps
  registry.register(
    ALIYUN_RECEIPTS_TASK,
    async () => {
      const since = new Date(Date.now() - POLL_WINDOW_MS).toISOString()
      const parts = await store.unreportedParts('aliyun', since, PER_RUN)
      let reported = 0
      for (const part of parts) {
        try {
          const phone = phones.open(part.smsId, part.sealedPhone)
          const report = await queryAliyunReport(settings, timeoutMs, { ...part, phone })
          if (report.state === 'pending') continue
          await store.applyReceipt({
            gateway: 'aliyun',
            messageId: part.messageId,
            delivered: report.delivered,
            ...(report.error ? { error: report.error } : {}),
            ...(report.at ? { at: report.at } : {}),
          })
          reported += 1
        } catch (error) {
          // The next run asks again (not the rest now: Aliyun is likely down or throttling); the error names
          // Aliyun's code only.
          log.warn({ gateway: 'aliyun', reason: (error as Error).message }, 'Aliyun receipt query failed')
          break
        }
      }
      return { asked: parts.length, reported }
    },
    { maxRetries: 0 },
  )
  schedule.add({ name: 'sms-aliyun-receipts', everySeconds: deps.pollSeconds, task: ALIYUN_RECEIPTS_TASK })
}
