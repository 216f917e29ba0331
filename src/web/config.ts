import { type Env, integer } from '../config.ts'

/** Server-sent events (`GET /api/events`): streams per process, and per client address (0: no limit). */
export interface SseConfig {
  maxClients: number
  maxClientsPerAddress: number
}

export function loadSseConfig(env: Env): SseConfig {
  return {
    maxClients: integer(env, 'SSE_MAX_CLIENTS', 5000, 1, 1_000_000),
    maxClientsPerAddress: integer(env, 'SSE_MAX_CLIENTS_PER_ADDRESS', 100, 0, 1_000_000),
  }
}
