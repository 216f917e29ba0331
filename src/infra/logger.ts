import { type Logger, pino } from 'pino'
import pretty from 'pino-pretty'

export type { Logger }

export type LogFormat = 'pretty' | 'json'

/** `LOG_FORMAT` when set; otherwise pretty for a person at a terminal, JSON for everything that collects logs. */
export function chooseLogFormat(configured: LogFormat | undefined, stdoutIsTTY: boolean): LogFormat {
  return configured ?? (stdoutIsTTY ? 'pretty' : 'json')
}

/**
 * One logger for every role, JSON unless told `pretty`. Anything that might carry a secret is redacted here once,
 * so a careless `log.info({ req })` cannot leak a token or a verification code (in either format).
 */
export function createLogger(level: string, name = 'hotspot', format: LogFormat = 'json'): Logger {
  const options = {
    name,
    level,
    redact: {
      paths: [
        'req.headers.authorization',
        'req.headers.cookie',
        '*.password',
        '*.token',
        '*.code',
        '*.adminToken',
        'config.adminToken',
      ],
      censor: '[redacted]',
    },
  }
  if (format === 'json') return pino(options)
  // In-process and synchronous rather than a worker-thread transport: a terminal needs no throughput, and a
  // fatal line written just before process.exit must not be lost.
  return pino(options, pretty({ sync: true, ignore: 'pid,hostname', translateTime: 'SYS:HH:MM:ss.l' }))
}
