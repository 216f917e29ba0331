import smpp, { type Pdu, type Session } from 'smpp'

// An SMSC stand-in on the `smpp` package's real server: checks the bind's system_id/password (ESME_RBINDFAIL
// otherwise), refuses submit_sm before a bind, acknowledges each with a message id and sends the SMPP 3.4
// delivery receipt (deliver_sm, esm_class 0x04, "id:… stat:DELIVRD") as an SMSC does.
export async function startSmsc(opts: { throttle?: number; stat?: string } = {}) {
  const submitted: Pdu[] = []
  const sessions: Session[] = []
  let binds = 0
  let throttle = opts.throttle ?? 0
  let next = 1
  const server = smpp.createServer((session) => {
    sessions.push(session)
    let isBound = false
    session.on('error', () => {})
    session.on('bind_transceiver', (pdu: Pdu) => {
      if (pdu.system_id !== 'hotspot' || pdu.password !== 'secret12') {
        session.send(pdu.response({ command_status: smpp.ESME_RBINDFAIL }))
        return
      }
      binds += 1
      isBound = true
      session.send(pdu.response())
    })
    session.on('enquire_link', (pdu: Pdu) => session.send(pdu.response()))
    session.on('unbind', (pdu: Pdu) => session.send(pdu.response()))
    session.on('submit_sm', (pdu: Pdu) => {
      if (!isBound) return session.send(pdu.response({ command_status: 0x04 /* ESME_RINVBNDSTS */ }))
      if (throttle > 0) {
        throttle -= 1
        return session.send(pdu.response({ command_status: smpp.ESME_RTHROTTLED }))
      }
      const id = `m${next++}`
      submitted.push(pdu)
      session.send(pdu.response({ message_id: id }))
      const stat = opts.stat ?? 'DELIVRD'
      session.deliver_sm({
        source_addr: pdu.destination_addr,
        esm_class: 0x04,
        short_message: `id:${id} sub:001 dlvr:001 submit date:2612031500 done date:2612031501 stat:${stat} err:000 text:`,
      })
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    port: server.address().port,
    submitted,
    get binds() {
      return binds
    },
    dropBinds: () => {
      for (const s of sessions.splice(0)) s.destroy()
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sessions) s.destroy()
        server.close(() => resolve())
      }),
  }
}
