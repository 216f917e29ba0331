import {
  ServerInterceptingCall,
  type ServerInterceptingCallInterface,
  type ServerInterceptor,
} from '@grpc/grpc-js'

/** Answers a stream may have handed to HTTP/2 and not yet seen written, before its writes wait. */
const WRITE_AHEAD = 128

/**
 * grpc-js completes a stream's write only once HTTP/2 has flushed it, and its object stream sends the next
 * message only after that: one message per stream per event-loop turn, whatever the client pipelines. This
 * completes writes at once while fewer than WRITE_AHEAD are in flight, so a burst of answers goes out in one
 * flush, and holds the stream's writes (so `write()` returns false and the handler stops reading) beyond
 * that: back-pressure stays bounded. Order is untouched: messages still go down one at a time, in order.
 */
class WriteAheadCall extends ServerInterceptingCall {
  private inFlight = 0
  private held: (() => void) | null = null

  override sendMessage(message: unknown, callback: () => void): void {
    this.inFlight++
    super.sendMessage(message, () => {
      this.inFlight--
      const held = this.held
      if (held && this.inFlight < WRITE_AHEAD) {
        this.held = null
        held()
      }
    })
    if (this.inFlight < WRITE_AHEAD) callback()
    else this.held = callback
  }
}

/** Server interceptor: write-ahead for methods that stream their answers. */
export const writeAhead: ServerInterceptor = (method, call: ServerInterceptingCallInterface) =>
  method.responseStream ? new WriteAheadCall(call) : new ServerInterceptingCall(call)
