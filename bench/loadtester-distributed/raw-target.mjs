// The cheapest HTTP/1.1 target we can write, so that it is not what bounds the distributed benchmark: a raw
// `net` server that answers every request head (`\r\n\r\n`; the benchmark sends GETs without bodies) with one
// pre-built response, pipelined answers batched in one write. Prints its port; SIGTERM prints
// `count <requests>` and exits.
import net from 'node:net'

const RESPONSE = Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nKeep-Alive: timeout=30\r\n\r\nok')
const cache = new Map()
const responses = (n) => {
  let b = cache.get(n)
  if (b === undefined) {
    b = Buffer.concat(Array.from({ length: n }, () => RESPONSE))
    if (cache.size < 64) cache.set(n, b)
  }
  return b
}
let count = 0
const server = net.createServer((socket) => {
  socket.setNoDelay(true)
  let tail = ''
  socket.on('data', (chunk) => {
    const text = tail + chunk.latin1Slice(0, chunk.length)
    let n = 0
    let i = text.indexOf('\r\n\r\n')
    let last = -1
    while (i !== -1) {
      n++
      last = i + 4
      i = text.indexOf('\r\n\r\n', last)
    }
    tail = last === -1 ? text.slice(-4096) : text.slice(last)
    if (n > 0) {
      count += n
      socket.write(responses(n))
    }
  })
  socket.on('error', () => {})
})
server.listen(0, '127.0.0.1', () => process.stdout.write(`${server.address().port}\n`))
process.on('SIGTERM', () => {
  process.stdout.write(`count ${count}\n`)
  process.exit(0)
})
