// A Moleculer 0.15 worker node for the remote benchmark: the trivial task as action `w.inc`, TCP transporter,
// static discovery. argv: own port, own node id, the caller's `host:port/nodeID`.
import moleculer from 'moleculer'

const [port, nodeID, caller] = process.argv.slice(2)
const broker = new moleculer.ServiceBroker({
  nodeID,
  logger: false,
  transporter: {
    type: 'TCP',
    options: { udpDiscovery: false, port: Number(port), urls: [caller], useHostname: false },
  },
})
broker.createService({ name: 'w', actions: { inc: (ctx) => ctx.params.x + 1 } })
await broker.start()
console.log('ready')
process.on('SIGTERM', () => {
  void broker.stop().then(() => process.exit(0))
})
