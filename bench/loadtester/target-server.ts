/**
 * The target of the load-tester benchmarks: a bare node:http server answering `GET /` with 2 bytes, keep-alive
 * on. Prints its port on stdout, exits on SIGTERM.
 */
import http from 'node:http'
import type { AddressInfo } from 'node:net'

const server = http.createServer((req, res) => {
  req.resume()
  res.setHeader('content-type', 'text/plain')
  res.end('ok')
})
server.keepAliveTimeout = 30_000
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${(server.address() as AddressInfo).port}\n`)
})
process.on('SIGTERM', () => {
  server.closeAllConnections()
  server.close(() => process.exit(0))
})
