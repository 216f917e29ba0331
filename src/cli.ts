/**
 * `hotspot <command>`: the only place that reads process.argv. The commands are declared in cli/commands/ and
 * load what they run only when they run, so `--help` never starts or imports the app.
 */
import { fail } from './cli/common.ts'
import { buildProgram } from './cli/program.ts'

const args = process.argv.slice(2)
// No command at all: the help, as `hotspot help` (exit 0), rather than commander's usage error.
buildProgram()
  .parseAsync(args.length ? args : ['help'], { from: 'user' })
  .catch((error: unknown) => {
    // By name, not instanceof: importing their modules here would load them for every --help.
    if (error instanceof Error && error.name === 'ConfigError')
      fail(`configuration error: ${error.message}`, 2)
    if (error instanceof Error && error.name === 'LocalServerError') fail(error.message)
    fail(error instanceof Error ? (error.stack ?? error.message) : String(error))
  })
