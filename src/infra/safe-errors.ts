import { stdSerializers } from 'pino'

/**
 * V8's JSON.parse errors quote the input (`Unexpected token 'x', "{"phone":"138…" is not valid JSON`): that text
 * must never reach a log or a dead-letter header. Keeps what helps (position, end of input), drops the quote.
 */
export function withoutJsonFragments(text: string): string {
  return text.replace(
    /Unexpected token [\s\S]*? is not valid JSON|"[\s\S]*?" is not valid JSON/g,
    'not valid JSON',
  )
}

/** A JSON.parse error in a few words that quote nothing: "unexpected input at position 12", "unexpected token". */
export function describeJsonError(error: unknown): string {
  const message = error instanceof Error ? error.message : ''
  if (/end of JSON input/i.test(message)) return 'input ends early'
  const position = /position (\d+)/.exec(message)?.[1]
  if (position !== undefined) return `unexpected input at position ${position}`
  return /^Unexpected token/.test(message) ? 'unexpected token' : 'malformed'
}

type Serialized = Record<string, unknown>

/** Strips what an error carries of data, recursively: ioredis's command arguments, quoted input. */
function scrub(value: unknown, depth: number): unknown {
  if (Array.isArray(value)) return value.map((inner) => scrub(inner, depth + 1))
  if (value === null || typeof value !== 'object' || depth > 8) return value
  const out = value as Serialized
  for (const [key, inner] of Object.entries(out)) {
    if (key === 'command' && inner !== null && typeof inner === 'object') {
      // ioredis attaches `{ name, args }` of the failed command: keys and values hold phones and codes.
      out.command = { name: (inner as { name?: unknown }).name }
    } else if (key === 'args' || key === 'argv') {
      delete out[key]
    } else if ((key === 'message' || key === 'stack') && typeof inner === 'string') {
      out[key] = withoutJsonFragments(inner)
    } else if (inner !== null && typeof inner === 'object') {
      out[key] = scrub(inner, depth + 1)
    }
  }
  return out
}

/** pino's error serializer, then scrubbed: what a log line may carry of an error (the logger's `err`). */
export function serializeError(error: unknown): unknown {
  const serialized = stdSerializers.err(error as Error)
  return serialized === error ? error : scrub(serialized, 0)
}
