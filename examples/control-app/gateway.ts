/**
 * The HTTP gateway: `POST /orders` → a `order.new` envelope pushed (round robin) to the workers over ZeroMQ.
 * Monitored with `monitor(node, …)`: it reports to the control server's collector.
 *
 * Run: node --import tsx examples/control-app/gateway.ts <collector> [http bind] [push bind]
 * By role (`dripdrop start examples/roles/topology.yaml`): the addresses come from `role()` (binds `http` and
 * `work`; reports to `connect.collector`, else $DRIPDROP_COLLECTOR, else nowhere).
 */
import { httpTransport } from '@dripdrop/bridges'
import { Node } from '@dripdrop/core'
import { monitor } from '@dripdrop/monitor'
import { role, startedByRole } from '@dripdrop/roles'
import { zmqTransport } from '@dripdrop/zmq'

// Started by role: the topology says where to bind. Otherwise the argv form (examples/control-app/app.ts).
const me = startedByRole() ? await role() : undefined
const argv = process.argv.slice(2)
const collector = me ? (me.addresses.connect.collector?.[0] ?? process.env.DRIPDROP_COLLECTOR) : argv[0]
const httpBind = me ? me.bind('http') : (argv[1] ?? 'http://127.0.0.1:0')
const pushBind = me ? me.bind('work') : (argv[2] ?? 'tcp://127.0.0.1:*')
const instance = me?.instance ?? `gateway-${process.pid}`
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
const reporter = collector ? monitor(node, { collector, role: 'gateway', instance }) : undefined
await node.start()
console.log(JSON.stringify({ http: api.endpoints[0], work: work.endpoints[0], instance }))
process.on('SIGTERM', () =>
  Promise.resolve(reporter?.close())
    .then(() => node.close())
    .then(() => process.exit(0)),
)
