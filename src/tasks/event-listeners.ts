import type { Logger } from '../infra/logger.ts'

/** Who listens to which topic, and delivery to them: shared by the RabbitMQ and the Redis events bus. */
export function createEventListeners(log: Logger) {
  const listeners = new Map<string, Set<(payload: unknown) => void>>()
  return {
    on(topic: string, listener: (payload: unknown) => void) {
      let set = listeners.get(topic)
      if (!set) {
        set = new Set()
        listeners.set(topic, set)
      }
      set.add(listener)
      return () => set.delete(listener)
    },
    /** Hands a received `{topic, payload}` to its listeners; anything else is ignored. */
    dispatch(event: { topic?: unknown; payload?: unknown } | null | undefined) {
      if (typeof event?.topic !== 'string') return
      for (const listener of listeners.get(event.topic) ?? []) {
        try {
          listener(event.payload)
        } catch (error) {
          log.warn({ err: error, topic: event.topic }, 'event listener failed')
        }
      }
    },
  }
}
