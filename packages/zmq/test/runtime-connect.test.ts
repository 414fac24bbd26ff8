// Runtime peers (route.connect / route.disconnect): the same scenario over inproc, ipc and tcp gives the same
// result, so a process can follow an address that moved without restarting.
import type { Node, Route } from '@dripdrop/core'
import { afterAll, describe, expect, it } from 'vitest'
import { bindAddress, removeIpcDir, until, zmqNode } from './helpers.js'

const PROTOCOLS = ['inproc', 'ipc', 'tcp'] as const
type Protocol = (typeof PROTOCOLS)[number]
let seq = 0

function address(proto: Protocol): string {
  return proto === 'inproc' ? `inproc://runtime-connect-${process.pid}-${++seq}` : bindAddress(proto)
}

/** A node with one bound `pull` route counting what it gets. */
async function puller(proto: Protocol, name: string) {
  const node = zmqNode(name)
  const got = { n: 0 }
  const pull = node.route('jobs', { type: 'pull', bind: address(proto) }).on('job', () => {
    got.n++
  })
  await node.start()
  return { node, endpoint: pull.endpoints[0], got }
}

/** A node with one bound `rep` route answering with its name. */
async function responder(proto: Protocol, name: string) {
  const node = zmqNode(name)
  const rep = node.route('work', { type: 'rep', bind: address(proto) }).on('who', () => name)
  await node.start()
  return rep.endpoints[0]
}

// inproc has no connection events: a connect there is complete when connect() resolves.
async function peers(route: Route, proto: Protocol, n: number): Promise<void> {
  if (proto !== 'inproc') await route.connected({ peers: n, timeoutMs: 5000 })
}

async function sendMany(route: Route, n: number): Promise<void> {
  for (let i = 0; i < n; i++) await route.send('job', i)
}

afterAll(removeIpcDir)

describe.each(PROTOCOLS)('route.connect/disconnect over %s', (proto) => {
  it('push: a peer added at run time takes its share, a removed one gets nothing more', async () => {
    const a = await puller(proto, 'a')
    const b = await puller(proto, 'b')
    const producer: Node = zmqNode('producer')
    const push = producer.route('jobs', { type: 'push', connect: a.endpoint })
    await producer.start()
    await peers(push, proto, 1)
    await sendMany(push, 10)
    await until(() => a.got.n === 10, 5000, 'a gets the first 10')

    await push.connect(b.endpoint)
    expect(push.connects).toEqual([a.endpoint, b.endpoint])
    await peers(push, proto, 2)
    await sendMany(push, 20)
    await until(() => a.got.n + b.got.n === 30, 5000, 'all 30 delivered')
    expect(b.got.n).toBeGreaterThan(0)

    await push.disconnect(a.endpoint)
    expect(push.connects).toEqual([b.endpoint])
    const before = a.got.n
    await sendMany(push, 10)
    await until(() => a.got.n + b.got.n === 40, 5000, 'the last 10 delivered to b')
    expect(a.got.n).toBe(before)
  })

  it('pull: a consumer follows its producer to a new address', async () => {
    const oldAt = address(proto)
    const newAt = address(proto)
    const oldGateway = zmqNode('old-gw')
    const oldPush = oldGateway.route('jobs', { type: 'push', bind: oldAt })
    const newGateway = zmqNode('new-gw')
    const newPush = newGateway.route('jobs', { type: 'push', bind: newAt })
    await oldGateway.start()
    await newGateway.start()
    const worker = zmqNode('worker')
    const seen: string[] = []
    const pull = worker
      .route('jobs', { type: 'pull', connect: oldPush.endpoints[0] })
      .on('job', ({ body }) => {
        seen.push(body as string)
      })
    await worker.start()
    await oldPush.send('job', 'from-old')
    await until(() => seen.length === 1, 5000, 'first job')
    await pull.disconnect(oldPush.endpoints[0])
    await pull.connect(newPush.endpoints[0])
    await newPush.send('job', 'from-new')
    await until(() => seen.length === 2, 5000, 'job from the new address')
    expect(seen).toEqual(['from-old', 'from-new'])
  })

  it('req spreading over several peers: lanes added and removed at run time', async () => {
    const r1 = await responder(proto, 'r1')
    const r2 = await responder(proto, 'r2')
    const r3 = await responder(proto, 'r3')
    const client = zmqNode('client')
    const req = client.route('work', { type: 'req', connect: [r1, r2], timeoutMs: 5000 })
    await client.start()
    await peers(req, proto, 2)
    await req.connect(r3)
    await peers(req, proto, 3)
    await req.disconnect(r1)
    await req.disconnect(r2)
    const answers = new Set<string>()
    for (let i = 0; i < 20; i++) answers.add((await req.request('who')).body as string)
    expect([...answers]).toEqual(['r3'])
    expect(req.connects).toEqual([r3])
  })

  it('connect twice or disconnect an unknown address: nothing happens; a closed route refuses', async () => {
    const a = await puller(proto, 'a')
    const producer = zmqNode('producer')
    const push = producer.route('jobs', { type: 'push', connect: a.endpoint })
    await producer.start()
    await push.connect(a.endpoint)
    await push.disconnect(address(proto))
    expect(push.connects).toEqual([a.endpoint])
    await expect(push.connect(proto === 'tcp' ? 'ipc:///tmp/x.sock' : 'tcp://127.0.0.1:1')).rejects.toThrow(
      /use/,
    )
    await producer.close()
    await expect(push.connect(address(proto))).rejects.toMatchObject({ code: 'DD_ERR_CLOSED' })
  })
})
