import { PermanentTaskError, type TaskRegistry } from './types.ts'

/** Diagnostics and interop checks (API.md): ping, add, sum, fail. They go to Celery's default queue. */
export function registerBuiltinTasks(registry: TaskRegistry, queue: string) {
  registry.register('hotspot.ping', () => 'pong', { maxRetries: 0, queue })
  registry.register(
    'hotspot.add',
    (args, kwargs) => {
      const a = args[0] ?? kwargs.a
      const b = args[1] ?? kwargs.b
      if (typeof a !== 'number' || typeof b !== 'number') {
        throw new PermanentTaskError('hotspot.add takes two numbers')
      }
      return a + b
    },
    { maxRetries: 0, queue },
  )
  // A chord body: Celery calls it with the list of the header's results.
  registry.register(
    'hotspot.sum',
    (args, kwargs) => {
      const numbers = args[0] ?? kwargs.numbers
      if (!Array.isArray(numbers) || !numbers.every((n) => typeof n === 'number')) {
        throw new PermanentTaskError('hotspot.sum takes a list of numbers')
      }
      return numbers.reduce((a: number, b: number) => a + b, 0)
    },
    { maxRetries: 0, queue },
  )
  registry.register(
    'hotspot.fail',
    (args, kwargs) => {
      throw new PermanentTaskError(String(args[0] ?? kwargs.message ?? 'failed on purpose'))
    },
    { maxRetries: 0, queue },
  )
}
