/**
 * The far side of the zmq benchmarks, one role per process (forked by bench/zmq.bench.ts with an IPC channel):
 *
 *   raw-pull | dd-pull          count 100-byte messages; report { count, elapsedMs } (first → last message)
 *   raw-pull-packed             the same, each frame packing [u32 length][bytes] messages
 *   raw-router | dd-rep         echo requests
 *   codec-router                a raw ROUTER that decodes each dripdrop request and encodes its reply ($re)
 *   mol-server <port> <peer>    a Moleculer 0.15 broker (TCP transporter) with an `echo.echo` action
 *   raw-sub | dd-sub <endpoint> count `tick` publications; say { probed: true } on the first `probe`
 *   raw-router-slow | dd-rep-slow <ms>   a worker with one core: one request at a time, each taking <ms>
 *
 * Messages from the parent: `report` (answered with counts), `cpu` (answered with { cpu: process.cpuUsage() }).
 * The child says { ready, endpoint } first.
 */
import moleculer from 'moleculer'
import * as zmq from 'zeromq'
import { defaultCodec } from '../../packages/codec/dist/index.js'
import { Node } from '../../packages/core/dist/index.js'
import { zmqTransport } from '../../packages/zmq/dist/index.js'

const [role, ...args] = process.argv.slice(2)
const send = (m: unknown) => process.send!(m)

let count = 0
let first = 0
let last = 0
function tick(): void {
  const now = performance.now()
  if (count === 0) first = now
  last = now
  count++
}
process.on('message', (m: { cmd: string }) => {
  if (m.cmd === 'report') send({ count, elapsedMs: last - first })
  if (m.cmd === 'cpu') send({ cpu: process.cpuUsage() })
  if (m.cmd === 'exit') process.exit(0)
})
process.on('disconnect', () => process.exit(0))

switch (role) {
  case 'raw-pull': {
    const pull = new zmq.Pull()
    await pull.bind('tcp://127.0.0.1:*')
    send({ ready: true, endpoint: pull.lastEndpoint })
    for await (const _ of pull) tick()
    break
  }
  case 'raw-pull-packed': {
    const pull = new zmq.Pull()
    await pull.bind('tcp://127.0.0.1:*')
    send({ ready: true, endpoint: pull.lastEndpoint })
    for await (const [frame] of pull) {
      for (let at = 0; at < frame.length; at += 4 + frame.readUInt32LE(at)) tick()
    }
    break
  }
  case 'dd-pull': {
    const node = new Node({ transports: [zmqTransport()] })
    const pull = node.route('in', { type: 'pull', bind: 'tcp://127.0.0.1:*' }).on('m', tick)
    await node.start()
    send({ ready: true, endpoint: pull.endpoints[0] })
    break
  }
  case 'raw-router': {
    const router = new zmq.Router({ sendTimeout: 0 })
    await router.bind('tcp://127.0.0.1:*')
    send({ ready: true, endpoint: router.lastEndpoint })
    for await (const msg of router) await router.send(msg)
    break
  }
  case 'codec-router': {
    const codec = defaultCodec()
    const router = new zmq.Router()
    await router.bind('tcp://127.0.0.1:*')
    send({ ready: true, endpoint: router.lastEndpoint })
    for await (const [id, frame] of router) {
      const e = codec.decodeFrame(frame) as { name: string; head: { $id: number }; body: unknown }
      await router.send([id, codec.encode({ name: e.name, head: { $re: e.head.$id }, body: e.body })])
    }
    break
  }
  case 'dd-rep': {
    const node = new Node({ transports: [zmqTransport()] })
    const rep = node.route('svc', { type: 'rep', bind: 'tcp://127.0.0.1:*' }).on('echo', ({ body }) => body)
    await node.start()
    process.on('message', (m: { cmd: string }) => {
      if (m.cmd === 'stats') send(rep.stats.snapshot())
    })
    send({ ready: true, endpoint: rep.endpoints[0] })
    break
  }
  case 'raw-router-slow': {
    const ms = Number(args[0])
    const router = new zmq.Router()
    await router.bind('tcp://127.0.0.1:*')
    send({ ready: true, endpoint: router.lastEndpoint })
    for await (const msg of router) {
      await new Promise((r) => setTimeout(r, ms))
      await router.send(msg)
    }
    break
  }
  case 'dd-rep-slow': {
    const ms = Number(args[0])
    const node = new Node({ transports: [zmqTransport()] })
    const rep = node.route('svc', { type: 'rep', bind: 'tcp://127.0.0.1:*', concurrency: 1 })
    rep.on('echo', async ({ body }) => {
      await new Promise((r) => setTimeout(r, ms))
      return body
    })
    await node.start()
    send({ ready: true, endpoint: rep.endpoints[0] })
    break
  }
  case 'mol-server': {
    const [port, peer] = args
    const broker = new moleculer.ServiceBroker({
      nodeID: 'server',
      logger: false,
      // @ts-expect-error moleculer.d.ts types `urls` as a string; its TCP transporter documents and takes a list.
      transporter: {
        type: 'TCP',
        options: { udpDiscovery: false, port: Number(port), urls: [peer], useHostname: false },
      },
    })
    broker.createService({ name: 'echo', actions: { echo: (ctx: { params: unknown }) => ctx.params } })
    await broker.start()
    send({ ready: true })
    break
  }
  case 'raw-sub': {
    const sub = new zmq.Subscriber()
    sub.connect(args[0])
    sub.subscribe()
    send({ ready: true })
    let probed = false
    for await (const [topic] of sub) {
      if (topic.length === 4) tick()
      else if (!probed) {
        probed = true
        send({ probed: true })
      }
    }
    break
  }
  case 'dd-sub': {
    const node = new Node({ transports: [zmqTransport()] })
    let probed = false
    node
      .route('in', { type: 'sub', connect: args[0] })
      .on('tick', tick)
      .on('probe', () => {
        if (probed) return
        probed = true
        send({ probed: true })
      })
    await node.start()
    send({ ready: true })
    break
  }
  default:
    console.error(`unknown role ${role}`)
    process.exit(2)
}
