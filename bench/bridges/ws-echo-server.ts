/**
 * Child process of bench/bridges.bench.ts: a WebSocket echo service on 127.0.0.1 speaking JSON text frames
 * `[1, name, head, body]`. `dripdrop`: a `ws-server` route whose `echo` handler returns the body (the route
 * answers `$id` with `$re`). `bare`: a `ws` server doing the same by hand (JSON.parse the frame, reply
 * `[1, name, { $re }, body]` with JSON.stringify), no checks. Prints the port, runs until killed.
 */
import type { AddressInfo } from 'node:net'
import { WebSocketServer } from 'ws'
import { wsTransport } from '../../packages/bridges/dist/index.js'
import { Node } from '../../packages/core/dist/index.js'

const kind = process.argv[2]

if (kind === 'dripdrop') {
  const node = new Node({ name: 'bench', transports: [wsTransport()] })
  const route = node.route('echo', { type: 'ws-server', bind: 'ws://127.0.0.1:0' })
  route.on('echo', ({ body }) => body)
  await node.start()
  console.log(new URL(route.endpoints[0]).port)
} else if (kind === 'bare') {
  const wss = new WebSocketServer({
    host: '127.0.0.1',
    port: 0,
    perMessageDeflate: false,
    maxPayload: 1024 * 1024,
  })
  wss.on('connection', (ws) => {
    ws.on('message', (data) => {
      const [, name, head, body] = JSON.parse((data as Buffer).toString('utf8'))
      ws.send(JSON.stringify([1, name, { $re: head.$id }, body]))
    })
  })
  wss.on('listening', () => console.log((wss.address() as AddressInfo).port))
} else {
  console.error('usage: ws-echo-server.ts dripdrop|bare')
  process.exit(2)
}

// Exit normally on a signal, so --cpu-prof can write its profile.
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => process.exit(0))
