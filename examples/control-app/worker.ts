/**
 * A worker: pulls `order.new` from the gateway, prices it, pushes `order.priced` to the aggregator.
 *
 * Run: node --import tsx examples/control-app/worker.ts <collector> <gateway work> <aggregator in> [name]
 */
import { Node } from '@dripdrop/core'
import { monitor } from '@dripdrop/monitor'
import { zmqTransport } from '@dripdrop/zmq'

const [collector, workAt, aggregatorAt, name = `worker-${process.pid}`] = process.argv.slice(2)
const node = new Node({ name: 'worker', transports: [zmqTransport()] })
const out = node.route('priced', { type: 'push', connect: aggregatorAt })
const reporter = monitor(node, { collector, role: 'worker', instance: name })
node.route('work', { type: 'pull', connect: workAt }).on(
  'order.new',
  reporter.timed(node.get('work')!, 'order.new', async ({ body }: { body: any }) => {
    await out.send('order.priced', { id: body.id, total: Number(body.qty ?? 1) * 9.5, by: name })
  }),
)
await node.start()
console.log(JSON.stringify({ instance: name }))
process.on('SIGTERM', () =>
  reporter
    .close()
    .then(() => node.close())
    .then(() => process.exit(0)),
)
