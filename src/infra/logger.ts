import { type DestinationStream, type Logger, pino } from 'pino'
import pretty from 'pino-pretty'
import { serializeError } from './safe-errors.ts'

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
export function createLogger(
  level: string,
  name = 'hotspot',
  format: LogFormat = 'json',
  /** Where JSON lines go (stdout when unset; tests read them). */
  destination?: DestinationStream,
): Logger {
  const options = {
    name,
    level,
    // Errors without the data they carry: ioredis's failed command arguments, JSON input quoted in messages.
    serializers: { err: serializeError, error: serializeError },
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
  if (format === 'json') return destination ? pino(options, destination) : pino(options)
  // In-process and synchronous rather than a worker-thread transport: a terminal needs no throughput, and a
  // fatal line written just before process.exit must not be lost.
  return pino(options, pretty({ sync: true, ignore: 'pid,hostname', translateTime: 'SYS:HH:MM:ss.l' }))
}
