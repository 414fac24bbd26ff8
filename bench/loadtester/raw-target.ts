/**
 * A target that cannot be the bottleneck of the rate-accuracy benchmark: a bare `net` server that answers every
 * request head (`\r\n\r\n`, bodiless GETs) with one canned keep-alive `200` response, a few µs per request
 * where node:http takes tens. Prints its port on stdout, exits on SIGTERM.
 */
import net from 'node:net'

const RESPONSE = Buffer.from(
  'HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 2\r\nconnection: keep-alive\r\n\r\nok',
  'latin1',
)
const sockets = new Set<net.Socket>()
const server = net.createServer({ noDelay: true }, (socket) => {
  sockets.add(socket)
  // How far into "\r\n\r\n" the previous chunk ended (0..3), so a head split across reads still counts once.
  let matched = 0
  socket.on('data', (chunk: Buffer) => {
    let heads = 0
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i]
      if (b === (matched % 2 === 0 ? 13 : 10)) {
        if (++matched === 4) {
          heads++
          matched = 0
        }
      } else matched = b === 13 ? 1 : 0
    }
    if (heads === 1) socket.write(RESPONSE)
    else if (heads > 1) socket.write(Buffer.concat(Array.from({ length: heads }, () => RESPONSE)))
  })
  socket.on('error', () => {})
  socket.on('close', () => sockets.delete(socket))
})
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${(server.address() as net.AddressInfo).port}\n`)
})
process.on('SIGTERM', () => {
  for (const s of sockets) s.destroy()
  server.close(() => process.exit(0))
})
