// The gateways of `npm run bench -- sms`, in a process of their own so their CPU is not hotspot's: the strict
// ihuyi stand-in (HTTP) and the SMSC stand-in (the `smpp` package's server) of the tests. GET /info says where.
import http from 'node:http'
import { startIhuyiServer } from '../../test/sms/gateways/ihuyi-server.ts'
import { startSmsc } from '../../test/sms/gateways/smsc-server.ts'

const ihuyi = await startIhuyiServer({ account: 'C1', password: 'bench-apikey-0123456789' })
const smsc = await startSmsc()
const info = JSON.stringify({ ihuyiUrl: ihuyi.url, smppPort: smsc.port })
http
  .createServer((req, res) => {
    if (req.url === '/accepted')
      return res.end(JSON.stringify({ ihuyi: ihuyi.accepted.length, smpp: smsc.submitted.length }))
    res.setHeader('content-type', 'application/json')
    res.end(req.url === '/info' ? info : '{"status":"ok"}')
  })
  .listen(Number(process.env.PORT), '127.0.0.1')
process.once('SIGTERM', () => {
  void Promise.all([ihuyi.close(), smsc.close()]).finally(() => process.exit(0))
})
