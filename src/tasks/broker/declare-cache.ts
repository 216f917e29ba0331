/**
 * What a process has declared on its broker, by name: each declare runs once, callers at the same time share it, and
 * a failed one runs again on the next call. `isDone` lets a publish skip the await once a queue is known declared
 * (one await less on every publish); `reset` forgets everything (after a reconnect to a broker that may be new).
 */
export function createDeclareCache(declare: (name: string) => Promise<void>) {
  const known = new Map<string, Promise<void> | 'done'>()

  return {
    isDone: (name: string) => known.get(name) === 'done',

    ensure(name: string): Promise<void> {
      const state = known.get(name)
      if (state === 'done') return Promise.resolve()
      if (state) return state
      const pending = declare(name).then(
        () => {
          // A reset while this ran means the broker may be new: leave it undeclared.
          if (known.get(name) === pending) known.set(name, 'done')
        },
        (error: unknown) => {
          if (known.get(name) === pending) known.delete(name)
          throw error
        },
      )
      known.set(name, pending)
      return pending
    },

    reset: () => known.clear(),
  }
}
