/**
 * Chat: browsers talk to this process over WebSocket, and every process running it shares one room through
 * ZeroMQ. The first process also hosts the room's hub (a pull socket feeding a pub socket); the others get
 * the hub's two addresses as arguments. A message typed in any browser reaches the browsers of every process.
 *
 *   browser --ws--> chat-server --push--> hub (pull → pub) --sub--> every chat-server --ws--> browsers
 *
 * Run: node --import tsx examples/bridges/chat/chat-server.ts            (prints {"ws", "hub"}; open ws→http)
 *      node --import tsx examples/bridges/chat/chat-server.ts <hub.in> <hub.out>
 */
import { readFileSync } from 'node:fs'
import type { ServerResponse } from 'node:http'
import { wsTransport } from '@dripdrop/bridges'
import { Node } from '@dripdrop/core'
import { zmqTransport } from '@dripdrop/zmq'

const page = readFileSync(new URL('./index.html', import.meta.url))

export async function startChat(hub?: { in: string; out: string }) {
  // --- wiring ---
  const node = new Node({ name: 'chat', transports: [wsTransport(), zmqTransport()] })
  const browsers = node.route('browsers', {
    type: 'ws-server',
    bind: 'ws://127.0.0.1:0',
    fallback: (_req: unknown, res: ServerResponse) => res.end(page),
  })
  if (!hub) {
    const inbox = node.route('hub-in', { type: 'pull', bind: 'tcp://127.0.0.1:*' })
    const out = node.route('hub-out', { type: 'pub', bind: 'tcp://127.0.0.1:*' })
    inbox.on('*', (msg) => out.send(msg))
  }
  await node.start()
  hub ??= { in: node.get('hub-in')!.endpoints[0], out: node.get('hub-out')!.endpoints[0] }
  const say = node.route('say', { type: 'push', connect: hub.in })
  const room = node.route('room', { type: 'sub', connect: hub.out, subscribe: 'chat.' })
  room.on('chat.said', (msg) => browsers.send(msg))
  browsers.on('chat.say', ({ body, head }) =>
    say.send('chat.said', { text: String(body.text), from: head.$conn }),
  )
  // --- end of wiring ---
  await joined(say, room)
  return { node, ws: browsers.endpoints[0], hub }
}

// A ZeroMQ subscriber misses what is published before its subscription reaches the publisher. Send probes
// through the room until one comes back, so "started" means "in the room".
async function joined(say: { send: (n: string, b: unknown) => Promise<void> }, room: { on: Node['on'] }) {
  let back = false
  room.on('chat.probe', () => {
    back = true
  })
  for (let i = 0; i < 200 && !back; i++) {
    await say.send('chat.probe', i)
    await new Promise((r) => setTimeout(r, 25))
  }
  if (!back) throw new Error('the chat room did not answer within 5 s')
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [hubIn, hubOut] = process.argv.slice(2)
  const chat = await startChat(hubIn && hubOut ? { in: hubIn, out: hubOut } : undefined)
  console.log(JSON.stringify({ ws: chat.ws, hub: chat.hub }))
  process.on('SIGTERM', () => chat.node.close().then(() => process.exit(0)))
}
