/**
 * The HTTP gateway: `POST /orders` → a `order.new` envelope pushed (round robin) to the workers over ZeroMQ.
 * Monitored with `monitor(node, …)`: it reports to the control server's collector.
 *
 * Run: node --import tsx examples/control-app/gateway.ts <collector> [http bind] [push bind]
 */
import { httpTransport } from '@dripdrop/bridges'
import { Node } from '@dripdrop/core'
import { monitor } from '@dripdrop/monitor'
import { zmqTransport } from '@dripdrop/zmq'

const [collector, httpBind = 'http://127.0.0.1:0', pushBind = 'tcp://127.0.0.1:*'] = process.argv.slice(2)
const node = new Node({ name: 'gateway', transports: [httpTransport(), zmqTransport()] })
const work = node.route('work', { type: 'push', bind: pushBind })
const api = node.route('api', {
  type: 'http-server',
  bind: httpBind,
  routes: { 'POST /orders': 'order.create' },
})
let next = 0
api.on('order.create', async ({ body }) => {
  const id = ++next
  await work.send('order.new', { id, ...(body as object) })
  return { id }
})
const reporter = monitor(node, { collector, role: 'gateway', instance: `gateway-${process.pid}` })
await node.start()
console.log(
  JSON.stringify({ http: api.endpoints[0], work: work.endpoints[0], instance: `gateway-${process.pid}` }),
)
process.on('SIGTERM', () =>
  reporter
    .close()
    .then(() => node.close())
    .then(() => process.exit(0)),
)
