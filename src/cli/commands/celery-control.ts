import type { Command } from 'commander'
import { configOrExit } from '../common.ts'
import { CONNECTIONS, envHelp } from '../env-vars.ts'

// Celery's own command grammar (`-d`, `-t`, `--terminate`, positional sub-commands) is parsed by
// tasks/control/cli.ts, as `celery inspect` / `celery control` read it: commander hands it the raw arguments.
const INSPECT_HELP = `
Commands:
  ping | stats | active | reserved | scheduled | registered | revoked | active_queues | conf | clock
  query_task <task id>…

Options (as celery's):
  -d, --destination <name@host,…>  only these workers; default: every worker
  -t, --timeout <seconds>          how long to wait for replies (default 1)

Prints {"name@host": reply, …} as JSON; exits 69 when no worker replied (as celery does), 2 on bad usage.`

const CONTROL_HELP = `
Commands:
  revoke <task id>… [--terminate] [--signal SIGTERM]
  terminate <signal> <task id>…
  rate_limit <task name> <rate, like 10/s>
  time_limit <task name> <soft seconds> [hard seconds]
  enable_events | disable_events | heartbeat | shutdown

Options (as celery's):
  -d, --destination <name@host,…>  only these workers; default: every worker
  -t, --timeout <seconds>          how long to wait for replies (default 1)

Prints the replies as JSON; heartbeat and shutdown get no reply (it says they were sent).`

export function register(program: Command) {
  for (const kind of ['inspect', 'control'] as const) {
    program
      .command(kind)
      .description(
        kind === 'inspect'
          ? 'ask every Celery worker (Python or hotspot), like `celery inspect`'
          : 'remote control of every Celery worker (Python or hotspot), like `celery control`',
      )
      .argument('<command>', `the ${kind} command (see below)`)
      .argument('[args...]', 'its arguments and options')
      // Unknown options become arguments, in order: tasks/control/cli.ts reads them as celery would.
      .allowUnknownOption()
      .addHelpText('after', `${kind === 'inspect' ? INSPECT_HELP : CONTROL_HELP}\n${envHelp([CONNECTIONS])}`)
      .action(async (method: string, args: string[]) => {
        const { controlCommand } = await import('../run/control.ts')
        await controlCommand(configOrExit(), kind, [method, ...args])
      })
  }
}
