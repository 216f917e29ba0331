import { type Command, InvalidArgumentError } from 'commander'
import { configOrExit } from '../common.ts'
import { BEAT, CONNECTIONS, DATABASE, envHelp } from '../env-vars.ts'

function productId(raw: string): number {
  if (!/^[1-9][0-9]{0,15}$/.test(raw)) throw new InvalidArgumentError('must be a positive whole number')
  return Number(raw)
}

export function register(program: Command) {
  program
    .command('seckill')
    .description('flash sales')
    .command('reconcile')
    .description(
      'compare flash-sale admissions with SQL orders and repair drift; the report as JSON on stdout',
    )
    .argument('[product-id]', 'only this product (default: every product)', productId)
    .addHelpText('after', envHelp([CONNECTIONS, DATABASE, BEAT]))
    .action(async (product: number | undefined) => {
      const { reconcileOnce } = await import('../run/seckill.ts')
      await reconcileOnce(configOrExit(), product)
    })
}
