import { type Env, integer } from '../../../src/config.ts'

/** The example module's settings slice (GREETINGS_*), validated like every other. */
export interface GreetingsConfig {
  maxNameLength: number
}

export function loadGreetingsConfig(env: Env): GreetingsConfig {
  return { maxNameLength: integer(env, 'GREETINGS_MAX_NAME_LENGTH', 20, 1, 200) }
}
