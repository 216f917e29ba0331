import type { Command } from 'commander'
import { configOrExit } from '../common.ts'
import { CONNECTIONS, envHelp } from '../env-vars.ts'

export function register(program: Command) {
  const tasks = program.command('tasks').description('the task system: its dead-letter queue')
  tasks
    .command('dlq')
    .description('list the dead-letter queue (id, task, reason, when, error; tab-separated)')
    .addHelpText('after', envHelp([CONNECTIONS]))
    .action(async () => {
      const { deadLetters } = await import('../run/tasks.ts')
      await deadLetters(configOrExit())
    })
  tasks
    .command('replay')
    .description('send dead letters back to their queue; exit 1 when no dead letter has that id')
    .argument('[task-id]', 'the dead letter to replay')
    .option('--all', 'replay every dead letter')
    .addHelpText('after', envHelp([CONNECTIONS]))
    .action(async (id: string | undefined, options: { all?: boolean }, command: Command) => {
      if ((id === undefined) === !options.all)
        command.error('error: give a task id or --all (one of them)', { exitCode: 2 })
      const { deadLetters } = await import('../run/tasks.ts')
      await deadLetters(configOrExit(), options.all ? { all: true } : { id: id as string })
    })
}
