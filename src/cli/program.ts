import { createRequire } from 'node:module'
import { Command } from 'commander'
import { COMMANDS } from './commands/index.ts'
import { CONNECTIONS, DATABASE, envHelp, PROCESS } from './env-vars.ts'

const { version } = createRequire(import.meta.url)('../../package.json') as { version: string }

/** Exit code of a command line that does not parse (unknown command or option, bad argument): usage error. */
export const USAGE_EXIT = 2

export function buildProgram(): Command {
  const program = new Command('hotspot')
    .description(
      'View counters, SMS, cached APIs, flash sales and a Celery-compatible task system on Redis and RabbitMQ.',
    )
    .version(version, '-V, --version')
    .showHelpAfterError()
    // Set before the commands are added, so they inherit it: a command line that does not parse exits 2.
    .exitOverride((error) => process.exit(error.exitCode === 0 ? 0 : USAGE_EXIT))
    .addHelpText(
      'after',
      `${envHelp([CONNECTIONS, DATABASE, PROCESS])}\nEach command's --help lists the variables it reads; see README.md.\n`,
    )
  for (const command of COMMANDS) command.register(program)
  return program
}
