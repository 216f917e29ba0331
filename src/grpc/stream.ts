import { type ServerDuplexStream, status } from '@grpc/grpc-js'
import type { Logger } from '../infra/logger.ts'
import type { CallMetrics } from './metrics.ts'
import { toGrpcError } from './status.ts'

export interface BidiStream<Out> {
  /** True once the stream was ended (by us or by the client): further input is ignored. */
  readonly ended: boolean
  /** Writes one message; reading pauses while the client is not taking our answers (back-pressure). */
  write(message: Out): void
  /** Ends with OK once the messages written so far are sent. */
  finish(): void
  /** Ends with the error's status, after the messages written so far (acks before a failure still arrive). */
  fail(error: unknown): void
  /** Re-evaluates whether to read: call it when the handler's own reason to hold input changes. */
  updateFlow(): void
  /** Runs `listener` once the client has half-closed (and the stream was not cancelled meanwhile). */
  onClientEnd(listener: () => void): void
}

/**
 * The life of one bidirectional stream, the same for every streaming method: counts messages, pauses reading
 * while our writes are not drained (or while the handler says `canRead() === false`), so a client that sends
 * without reading fills its own buffers and HTTP/2 windows, never our memory; ends with a status exactly once;
 * and records how it ended when the stream closes (a client cancel or a broken connection is CANCELLED).
 */
export function openStream<In, Out>(
  call: ServerDuplexStream<In, Out>,
  options: { metrics: CallMetrics; log: Logger; method: string; canRead?: () => boolean },
): BidiStream<Out> {
  const { metrics, log, method } = options
  let ended = false
  let endedWith: status = status.OK
  let writeBlocked = false

  const updateFlow = () => {
    const hold = ended || writeBlocked || options.canRead?.() === false
    if (hold && !call.isPaused()) call.pause()
    else if (!hold && call.isPaused()) call.resume()
  }
  const onDrain = () => {
    writeBlocked = false
    updateFlow()
  }

  // grpc-js emits 'cancelled' after a client cancel (and after our own status): only the first is a cancel.
  call.once('cancelled', () => {
    if (ended) return
    ended = true
    endedWith = status.CANCELLED
  })
  call.once('close', () => {
    call.off('drain', onDrain)
    metrics.finish(ended ? endedWith : status.CANCELLED)
    ended = true
  })
  call.on('drain', onDrain)
  call.on('data', metrics.received)

  return {
    get ended() {
      return ended
    },
    write(message) {
      if (ended) return
      metrics.sent()
      if (!call.write(message)) {
        writeBlocked = true
        updateFlow()
      }
    },
    finish() {
      if (ended) return
      ended = true
      call.end()
    },
    fail(error) {
      if (ended) return
      const grpcError = toGrpcError(error, log, method)
      ended = true
      endedWith = grpcError.code
      call.pause() // nothing more is read; what the client still sends is dropped with the stream
      // grpc-js turns an 'error' on the stream into its status, sent after the pending writes.
      call.emit('error', grpcError)
    },
    updateFlow,
    onClientEnd(listener) {
      // A client cancel reaches us as 'end' first and 'cancelled' a few ticks later (same turn); waiting one
      // turn lets the cancel be seen as one instead of being answered with OK.
      call.once('end', () => setImmediate(() => !ended && listener()))
    },
  }
}
