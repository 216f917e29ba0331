import { Writable } from 'node:stream'
import pino from 'pino'

/** A debug-level logger whose lines the test can search (secrets, phones and texts must never be in them). */
export function capturedLogger() {
  const lines: string[] = []
  const stream = new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk))
      done()
    },
  })
  return { log: pino({ level: 'debug' }, stream), lines }
}
