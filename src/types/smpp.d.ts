// The `smpp` package ships no types: the little of it hotspot uses.
declare module 'smpp' {
  import type { EventEmitter } from 'node:events'
  export interface Pdu {
    command: string
    command_status: number
    sequence_number: number
    message_id?: string
    receipted_message_id?: string
    esm_class?: number
    data_coding?: number
    destination_addr?: string
    source_addr?: string
    system_id?: string
    password?: string
    registered_delivery?: number
    short_message?: { message?: string | Buffer; udh?: Buffer[] } | Buffer
    response(options?: Record<string, unknown>): Pdu
  }
  export interface Session extends EventEmitter {
    send(pdu: Pdu, callback?: (pdu: Pdu) => void): boolean
    bind_transceiver(options: Record<string, unknown>, callback: (pdu: Pdu) => void): void
    submit_sm(options: Record<string, unknown>, callback: (pdu: Pdu) => void): void
    deliver_sm(options: Record<string, unknown>, callback?: (pdu: Pdu) => void): void
    enquire_link(callback?: (pdu: Pdu) => void): void
    close(callback?: () => void): void
    destroy(callback?: () => void): void
    pause(): void
    resume(): void
  }
  export interface Server extends EventEmitter {
    listen(port: number, host: string, callback?: () => void): void
    close(callback?: () => void): void
    address(): { port: number }
  }
  export function connect(options: Record<string, unknown>, listener?: () => void): Session
  export function createServer(listener: (session: Session) => void): Server
  const smpp: {
    connect: typeof connect
    createServer: typeof createServer
    ESME_ROK: number
    ESME_RTHROTTLED: number
    ESME_RBINDFAIL: number
    ESME_RINVDSTADR: number
    ESME_RINVPASWD: number
  }
  export default smpp
}
