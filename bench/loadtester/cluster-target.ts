/**
 * A target for the distributed benchmark that should not be the bottleneck: node:cluster workers (argv[2],
 * default 2) sharing one port, each answering `GET /` with 2 bytes. Prints the port on stdout; SIGTERM ends it.
 */
import cluster from 'node:cluster'
import http from 'node:http'
import type { AddressInfo } from 'node:net'

if (cluster.isPrimary) {
  const n = Number(process.argv[2] ?? 2)
  let listening = 0
  for (let i = 0; i < n; i++) {
    const w = cluster.fork()
    w.on('listening', (address: AddressInfo) => {
      if (++listening === n) process.stdout.write(`${address.port}\n`)
    })
  }
  process.on('SIGTERM', () => {
    for (const w of Object.values(cluster.workers ?? {})) w?.kill('SIGTERM')
    process.exit(0)
  })
} else {
  // Every worker binds port 0 through the primary: cluster hands them the same port.
  const server = http.createServer((req, res) => {
    req.resume()
    res.end('ok')
  })
  server.keepAliveTimeout = 30_000
  server.listen(0, '127.0.0.1')
}
