/**
 * The aggregator: pulls `order.priced` from every worker and keeps a running total.
 *
 * Run: node --import tsx examples/control-app/aggregator.ts <collector> [pull bind]
 * By role: binds `in` from `role()`; reports to `connect.collector`, else $DRIPDROP_COLLECTOR, else nowhere.
 * Prints the running total on stderr every $REPORT_MS ms (default 5000) when it changed.
 */
import { Node } from '@dripdrop/core'
import { monitor } from '@dripdrop/monitor'
import { role, startedByRole } from '@dripdrop/roles'
import { zmqTransport } from '@dripdrop/zmq'

// Started by role: the topology says where to bind. Otherwise the argv form (examples/control-app/app.ts).
const me = startedByRole() ? await role() : undefined
const argv = process.argv.slice(2)
const collector = me ? (me.addresses.connect.collector?.[0] ?? process.env.DRIPDROP_COLLECTOR) : argv[0]
const bind = me ? me.bind('in') : (argv[1] ?? 'tcp://127.0.0.1:*')
const instance = me?.instance ?? `aggregator-${process.pid}`
const node = new Node({ name: 'aggregator', transports: [zmqTransport()] })
let orders = 0
let revenue = 0
node.route('priced', { type: 'pull', bind }).on('order.priced', ({ body }) => {
  orders++
  revenue += (body as { total: number }).total
})
const reporter = collector ? monitor(node, { collector, role: 'aggregator', instance }) : undefined
await node.start()
console.log(JSON.stringify({ in: node.get('priced')!.endpoints[0], instance }))
let shown = -1
setInterval(
  () => {
    if (orders === shown) return
    shown = orders
    process.stderr.write(`orders ${orders} revenue ${revenue.toFixed(2)}\n`)
  },
  Number(process.env.REPORT_MS ?? 5000),
).unref()
process.on('SIGTERM', () =>
  Promise.resolve(reporter?.close())
    .then(() => node.close())
    .then(() => {
      // The final total, so that a stopped (moved) aggregator's count is complete in its log.
      process.stderr.write(`orders ${orders} revenue ${revenue.toFixed(2)}\n`)
      process.exit(0)
    }),
)
