import type { Command } from 'commander'
import { configOrExit } from '../common.ts'
import { CONNECTIONS, DATABASE, envHelp } from '../env-vars.ts'

export function register(program: Command) {
  program
    .command('doctor')
    .description(
      'check a deployment (servers, cluster slots, queue types, migrations, clocks); exit 1 when a check fails',
    )
    .addHelpText('after', envHelp([CONNECTIONS, DATABASE]))
    .action(async () => {
      const { runDoctor } = await import('../../doctor/index.ts')
      if (!(await runDoctor(configOrExit(), (line) => process.stdout.write(`${line}\n`))))
        process.exitCode = 1
    })
}
