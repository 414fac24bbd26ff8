/**
 * Child process of bench/bridges.bench.ts: a JSON echo server on 127.0.0.1, either an `http-server` route
 * (`dripdrop`) or a bare node:http handler doing the same work (`bare`: read the body, JSON.parse,
 * JSON.stringify, answer 200 with content-type and content-length). Prints the port, runs until killed.
 */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { httpTransport } from '../../packages/bridges/dist/index.js'
import { Node } from '../../packages/core/dist/index.js'

const kind = process.argv[2]

if (kind === 'dripdrop') {
  const node = new Node({ name: 'bench', transports: [httpTransport()] })
  const api = node.route('api', {
    type: 'http-server',
    bind: 'http://127.0.0.1:0',
    routes: { 'POST /echo': 'echo' },
  })
  api.on('echo', ({ body }) => body)
  await node.start()
  console.log(new URL(api.endpoints[0]).port)
} else if (kind === 'bare') {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      let value: unknown
      try {
        value = JSON.parse(Buffer.concat(chunks).toString('utf8'))
      } catch {
        res.writeHead(400).end()
        return
      }
      const out = JSON.stringify(value)
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(out) })
      res.end(out)
    })
  })
  server.listen(0, '127.0.0.1', () => console.log((server.address() as AddressInfo).port))
} else {
  console.error('usage: http-echo-server.ts dripdrop|bare')
  process.exit(2)
}

// Exit normally on a signal, so --cpu-prof can write its profile.
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => process.exit(0))
