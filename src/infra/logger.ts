import { type Logger, pino } from 'pino'

export type { Logger }

/**
 * One JSON logger for every role. Anything that might carry a secret is redacted here once, so a careless
 * `log.info({ req })` cannot leak a token or a verification code.
 */
export function createLogger(level: string, name = 'hotspot'): Logger {
  return pino({
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
  })
}
