import type { Command } from 'commander'
import { configOrExit } from '../common.ts'
import { DATABASE, envHelp, PROCESS } from '../env-vars.ts'

export function register(program: Command) {
  program
    .command('migrate')
    .description('apply the SQL migrations not applied yet, then exit')
    .addHelpText(
      'after',
      envHelp([
        DATABASE,
        { title: 'Data', vars: { HOTSPOT_DATA_DIR: 'where the SQLite file lives [.data]' } },
        PROCESS,
      ]),
    )
    .action(async () => {
      const { migrate } = await import('../run/migrate.ts')
      await migrate(configOrExit())
    })
}
