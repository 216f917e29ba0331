import type { Command } from 'commander'
import { configOrExit } from '../common.ts'
import { CONNECTIONS, envHelp } from '../env-vars.ts'

const COMMANDS = {
  inspect: `
Commands:
  ping | stats | active | reserved | scheduled | registered | revoked | active_queues | conf | clock
  query_task <task id>…
`,
  control: `
Commands:
  revoke <task id>… [--terminate] [--signal SIGTERM]
  terminate <signal> <task id>…
  rate_limit <task name> <rate, like 10/s>
  time_limit <task name> <soft seconds> [hard seconds]
  enable_events | disable_events | heartbeat | shutdown
`,
}

/** `hotspot inspect` and `hotspot control`: `celery inspect` / `celery control` for every worker on the broker. */
export function register(program: Command) {
  for (const kind of ['inspect', 'control'] as const) {
    const command = program
      .command(kind)
      .description(
        kind === 'inspect'
          ? 'ask every Celery worker (Python or hotspot), like `celery inspect`; replies as JSON, exit 69 when none answers'
          : 'remote control of every Celery worker, like `celery control`; replies as JSON, exit 69 when none answers',
      )
      .argument('<command>', 'what to ask (below)')
      .argument('[args...]', "the command's arguments")
      .option(
        '-d, --destination <nodes>',
        'only these workers (comma-separated name@host); default: every worker',
      )
      .option('-t, --timeout <seconds>', 'seconds to wait for replies (default 1)')
      .option('-j, --json', "accepted as celery's habit: the output is always JSON")
    if (kind === 'control')
      command
        .option('--terminate', 'revoke: also stop the task if it runs')
        .option('-s, --signal <name>', 'revoke --terminate: the signal (default SIGTERM)')
    command
      .addHelpText('after', `${COMMANDS[kind]}${envHelp([CONNECTIONS])}`)
      .action(async (method: string, rest: string[], options: Record<string, string | boolean>) => {
        // Handed on as argv: tasks/control/cli.ts turns it into the broadcast Celery's CLI would send.
        const argv = [method, ...rest]
        if (typeof options.destination === 'string') argv.push('--destination', options.destination)
        if (typeof options.timeout === 'string') argv.push('--timeout', options.timeout)
        if (options.terminate) argv.push('--terminate')
        if (typeof options.signal === 'string') argv.push('--signal', options.signal)
        const { remoteControl } = await import('../run/control.ts')
        await remoteControl(configOrExit(), kind, argv)
      })
  }
}
