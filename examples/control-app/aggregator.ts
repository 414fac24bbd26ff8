/**
 * The aggregator: pulls `order.priced` from every worker and keeps a running total.
 *
 * Run: node --import tsx examples/control-app/aggregator.ts <collector> [pull bind]
 */
import { Node } from '@dripdrop/core'
import { monitor } from '@dripdrop/monitor'
import { zmqTransport } from '@dripdrop/zmq'

const [collector, bind = 'tcp://127.0.0.1:*'] = process.argv.slice(2)
const node = new Node({ name: 'aggregator', transports: [zmqTransport()] })
let orders = 0
let revenue = 0
node.route('priced', { type: 'pull', bind }).on('order.priced', ({ body }) => {
  orders++
  revenue += (body as { total: number }).total
})
const reporter = monitor(node, { collector, role: 'aggregator', instance: `aggregator-${process.pid}` })
await node.start()
console.log(JSON.stringify({ in: node.get('priced')!.endpoints[0], instance: `aggregator-${process.pid}` }))
setInterval(() => process.stderr.write(`orders ${orders} revenue ${revenue.toFixed(2)}\n`), 5000).unref()
process.on('SIGTERM', () =>
  reporter
    .close()
    .then(() => node.close())
    .then(() => process.exit(0)),
)
