/** What every command implementation shares: its voice on stderr, failing with an exit code, the config. */
import { type Config, ConfigError, loadConfig } from '../config.ts'

export const say = (line: string) => process.stderr.write(`hotspot: ${line}\n`)

export function fail(message: string, code = 1): never {
  say(message)
  process.exit(code)
}

/** The configuration, or exit 2 with the one line naming the bad variable. */
export function configOrExit(): Config {
  try {
    return loadConfig()
  } catch (error) {
    if (error instanceof ConfigError) fail(`configuration error: ${error.message}`, 2)
    throw error
  }
}
