/**
 * A worker: pulls `order.new` from the gateway, prices it, pushes `order.priced` to the aggregator.
 *
 * Run: node --import tsx examples/control-app/worker.ts <collector> <gateway work> <aggregator in> [name]
 * By role: connects `work` (every gateway) and `priced` (every aggregator) from `role()`; reports to
 * `connect.collector`, else $DRIPDROP_COLLECTOR, else nowhere.
 */
import { Node } from '@dripdrop/core'
import { monitor } from '@dripdrop/monitor'
import { follow, role, startedByRole } from '@dripdrop/roles'
import { zmqTransport } from '@dripdrop/zmq'

// Started by role: the topology says where to connect (every gateway, every aggregator). Otherwise argv.
const me = startedByRole() ? await role() : undefined
const argv = process.argv.slice(2)
const collector = me ? (me.addresses.connect.collector?.[0] ?? process.env.DRIPDROP_COLLECTOR) : argv[0]
const workAt = me ? me.connect('work') : argv[1]
const aggregatorAt = me ? me.connect('priced') : argv[2]
const name = me?.instance ?? argv[3] ?? `worker-${process.pid}`
const node = new Node({ name: 'worker', transports: [zmqTransport()] })
const out = node.route('priced', { type: 'push', connect: aggregatorAt })
const reporter = collector ? monitor(node, { collector, role: 'worker', instance: name }) : undefined
const price = async ({ body }: { body: any }) => {
  await out.send('order.priced', { id: body.id, total: Number(body.qty ?? 1) * 9.5, by: name })
}
const work = node.route('work', { type: 'pull', connect: workAt })
work.on('order.new', reporter ? reporter.timed(work, 'order.new', price) : price)
await node.start()
if (me) {
  // Failover moves gateways and aggregators between hosts: keep both routes on their current addresses.
  follow(work, me, 'work')
  follow(out, me, 'priced')
}
console.log(JSON.stringify({ instance: name }))
process.on('SIGTERM', () =>
  Promise.resolve(reporter?.close())
    .then(() => node.close())
    .then(() => process.exit(0)),
)
