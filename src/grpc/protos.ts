import { fileURLToPath } from 'node:url'
import type { ServiceDefinition } from '@grpc/grpc-js'
import { loadSync, type Options, type PackageDefinition } from '@grpc/proto-loader'
import { protoPath as healthProtoPath } from 'grpc-health-check'

/** `proto/` at the package root: two levels up from src/grpc/ (tsx) and from dist/grpc/ (built) alike. */
export const PROTO_DIR = fileURLToPath(new URL('../../proto/', import.meta.url))

const PROTO_FILES = ['schema.proto', 'hotspot/v1/views.proto', 'hotspot/v1/tasks.proto']

/**
 * int64 fields arrive as decimal strings (`longs: String`) and may be sent as strings: nothing is rounded past
 * 2^53. Field names stay as written in the .proto (`item_id`), proto3 defaults are filled in.
 */
const LOADER_OPTIONS: Options = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
  includeDirs: [PROTO_DIR],
}

let loaded: PackageDefinition | undefined

/** hotspot's services plus the health service's messages (so reflection describes them too); parsed once. */
export function loadProtos(): PackageDefinition {
  loaded ??= loadSync([...PROTO_FILES, healthProtoPath], LOADER_OPTIONS)
  return loaded
}

export function serviceDefinition(name: string): ServiceDefinition {
  const definition = loadProtos()[name]
  // Message types carry a `format`; services are maps of method definitions.
  if (!definition || 'format' in definition) throw new Error(`no gRPC service ${name} in ${PROTO_DIR}`)
  return definition as ServiceDefinition
}

/** The messages as the handlers see them (proto-loader objects, int64 as decimal strings). */
export interface GatewayRequest {
  num: string
}
export interface GatewayResponse {
  num: string
}
export interface ViewEvent {
  item_id: string
  visitor_id: string
}
export interface ViewAck {
  item_id: string
  views: number
  unique_visitors: number
  counted: boolean
}
export interface SendTaskRequest {
  name: string
  args_json: string
  kwargs_json: string
  queue: string
  countdown: number
}
export interface SendTaskReply {
  task_id: string
}
export interface GetTaskRequest {
  task_id: string
}
export interface TaskStateReply {
  task_id: string
  status: string
  result_json: string
  error: { type: string; message: string } | null
}
