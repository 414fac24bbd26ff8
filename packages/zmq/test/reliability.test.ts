import { connect as tcpConnect } from 'node:net'
import { afterAll, describe, expect, it, onTestFinished } from 'vitest'
import * as zmq from 'zeromq'
import { UnroutableError, zmqTransport } from '../src/index.js'
import { bindAddress, removeIpcDir, until, zmqNode } from './helpers.js'

afterAll(removeIpcDir)

const PAD = new Uint8Array(64 * 1024)

function gate() {
  let open!: () => void
  const opened = new Promise<void>((r) => {
    open = r
  })
  return { open, opened }
}

/** A pull node whose handler waits on a gate, so everything upstream backs up. */
async function stuckPuller(socketHighWaterMark = 5) {
  const g = gate()
  const node = zmqNode('pull', { socketHighWaterMark })
  const got: number[] = []
  const pull = node
    .route('in', { type: 'pull', bind: 'tcp://127.0.0.1:*', concurrency: 1, highWaterMark: 1 })
    .on('n', async ({ body }) => {
      await g.opened
      got.push(typeof body === 'number' ? body : body.i)
    })
  await node.start()
  return { node, pull, got, gate: g }
}

describe('requests', () => {
  it('a request whose peer never answers rejects with DD_ERR_TIMEOUT', async () => {
    const silent = new zmq.Router()
    onTestFinished(() => silent.close())
    await silent.bind('tcp://127.0.0.1:*')
    const node = zmqNode('client')
    const req = node.route('svc', { type: 'req', connect: silent.lastEndpoint!, timeoutMs: 100 })
    await node.start()
    await expect(req.request('anyone?', null)).rejects.toMatchObject({ code: 'DD_ERR_TIMEOUT' })
    expect(req.stats.timeouts).toBe(1)
  })

  it('a request to a peer that is not there yet waits in the queue and is answered when it comes up', async () => {
    // An ipc path nobody binds yet (a tcp port found by binding and closing could still be held by the
    // closing listener, which would take the request with it).
    const endpoint = bindAddress('ipc')
    const client = zmqNode('client')
    const req = client.route('svc', { type: 'req', connect: endpoint, timeoutMs: 5000 })
    await client.start()
    const pending = req.request('ping', 1)
    const server = zmqNode('server')
    server.route('svc', { type: 'rep', bind: endpoint }).on('ping', () => 'pong')
    await server.start()
    expect((await pending).body).toBe('pong')
  })

  it('an envelope that cannot be encoded rejects the send with DD_ERR_ENCODE_INVALID', async () => {
    const { pull } = await stuckPuller()
    const node = zmqNode('push')
    const push = node.route('out', { type: 'push', connect: pull.endpoints[0] })
    await node.start()
    await expect(push.send('bad', { f: () => 1 })).rejects.toMatchObject({ code: 'DD_ERR_ENCODE_INVALID' })
    await expect(push.send({ name: '', head: {}, body: 1 })).rejects.toMatchObject({
      code: 'DD_ERR_ENCODE_INVALID',
    })
  })
})

describe('backpressure, close and destroy', () => {
  it('send() waits when the queue is full and resolves as the consumer catches up', async () => {
    const { pull, got, gate } = await stuckPuller()
    const node = zmqNode('push', { socketHighWaterMark: 5 })
    const push = node.route('out', { type: 'push', connect: pull.endpoints[0], highWaterMark: 10 })
    await node.start()
    // 64 KiB bodies, so ZeroMQ's pipes and the kernel's socket buffers fill after a few MiB.
    const N = 2000
    let admitted = 0
    const sends = Array.from({ length: N }, (_, i) =>
      push.send('n', { i, pad: PAD }).then(() => {
        admitted++
      }),
    )
    await new Promise((r) => setTimeout(r, 100))
    // Bounded: the outbox (10), ZeroMQ's pipes and the stuck handler hold the rest back.
    expect(admitted).toBeLessThan(N / 2)
    gate.open()
    await Promise.all(sends)
    await until(() => got.length === N)
    expect(got).toEqual(Array.from({ length: N }, (_, i) => i))
  })

  it('close() flushes what is queued within lingerMs', async () => {
    const { pull, got, gate } = await stuckPuller()
    const node = zmqNode('push', { socketHighWaterMark: 5 })
    const push = node.route('out', { type: 'push', connect: pull.endpoints[0], highWaterMark: 1000 })
    await node.start()
    for (let i = 0; i < 300; i++) void push.send('n', i)
    await new Promise((r) => setTimeout(r, 50))
    const closing = push.close()
    setTimeout(gate.open, 50)
    await closing
    expect(push.stats.dropped).toBe(0)
    await until(() => got.length === 300)
  })

  it('close() gives up after lingerMs when nobody takes the messages, and counts them as dropped', async () => {
    const node = zmqNode('push', { socketHighWaterMark: 1 })
    // Nobody ever binds this path: the PUSH has no peer, so nothing can leave.
    const push = node.route('out', { type: 'push', connect: bindAddress('ipc'), lingerMs: 200 })
    await node.start()
    const sends = Array.from({ length: 50 }, (_, i) => push.send('n', i))
    const started = Date.now()
    await push.close()
    expect(Date.now() - started).toBeLessThan(2000)
    expect(push.stats.dropped).toBeGreaterThan(0)
    const settled = await Promise.allSettled(sends)
    expect(settled.every((r) => r.status === 'fulfilled' || r.reason.code === 'DD_ERR_CLOSED')).toBe(true)
  })

  it('destroy() drops what is queued, says how many, and rejects waiting sends with DD_ERR_DESTROYED', async () => {
    const { pull } = await stuckPuller()
    const node = zmqNode('push', { socketHighWaterMark: 5 })
    const push = node.route('out', { type: 'push', connect: pull.endpoints[0], highWaterMark: 50 })
    await node.start()
    const sends = Array.from({ length: 2000 }, (_, i) => push.send('n', { i, pad: PAD }))
    await new Promise((r) => setTimeout(r, 50))
    const dropped = push.destroy()
    expect(dropped).toBeGreaterThan(1000)
    const results = await Promise.allSettled(sends)
    const rejected = results.filter((r) => r.status === 'rejected')
    expect(rejected.length).toBeGreaterThan(0)
    expect((rejected[0] as PromiseRejectedResult).reason).toMatchObject({ code: 'DD_ERR_DESTROYED' })
    await expect(push.send('n', 1)).rejects.toMatchObject({ code: 'DD_ERR_CLOSED' })
  })

  it('PUB counts what it drops at a subscriber high-water mark; delivered + dropped = published', async () => {
    const pubNode = zmqNode('pub', { socketHighWaterMark: 2 })
    const pub = pubNode.route('ev', { type: 'pub', bind: 'tcp://127.0.0.1:*' })
    await pubNode.start()
    const g = gate()
    const subNode = zmqNode('sub', { socketHighWaterMark: 2 })
    let delivered = 0
    let probes = 0
    subNode
      .route('ev', { type: 'sub', connect: pub.endpoints[0], concurrency: 1, highWaterMark: 1 })
      .on('probe', () => {
        probes++
      })
      .on('n', async () => {
        await g.opened
        delivered++
      })
    await subNode.start()
    await until(() => {
      void pub.publish('probe', null)
      return probes > 0
    })
    await new Promise((r) => setTimeout(r, 50))
    const droppedBefore = pub.stats.dropped
    const N = 20_000
    for (let i = 0; i < N; i++) await pub.publish('n', i)
    g.open()
    // The last envelopes may still be leaving the outbox: read the drop count as it settles.
    const dropped = () => pub.stats.dropped - droppedBefore
    await until(() => delivered === N - dropped(), 5000, 'delivered = published - dropped')
    expect(dropped()).toBeGreaterThan(0)
    // Nothing more arrives afterwards: closing both sides waits for every handler still running and ends
    // the reading, so a late or duplicate delivery would show here (no sleep that jitter could outlast).
    await pubNode.close()
    await subNode.close()
    expect(delivered).toBe(N - dropped())
  })
})

describe('events, errors and options', () => {
  it('connect and disconnect of peers surface as route:connect / route:disconnect', async () => {
    const a = zmqNode('a')
    const events: string[] = []
    a.events.on('route:connect', ({ route }) => events.push(`connect:${route}`))
    a.events.on('route:disconnect', ({ route }) => events.push(`disconnect:${route}`))
    const pull = a.route('in', { type: 'pull', bind: 'tcp://127.0.0.1:*' })
    await a.start()
    const b = zmqNode('b')
    b.route('out', { type: 'push', connect: pull.endpoints[0] })
    await b.start()
    await until(() => events.includes('connect:in'))
    b.destroy()
    await until(() => events.includes('disconnect:in'))
  })

  it('a peer that is not ZeroMQ fails the handshake: DD_ERR_HANDSHAKE, and the node keeps serving', async () => {
    const node = zmqNode('a')
    const codes: string[] = []
    node.events.on('route:error', ({ error }) => codes.push(error.code))
    const got: unknown[] = []
    const pull = node.route('in', { type: 'pull', bind: 'tcp://127.0.0.1:*' }).on('*', ({ body }) => {
      got.push(body)
    })
    await node.start()
    const port = Number(pull.endpoints[0].split(':').pop())
    const sock = tcpConnect(port, '127.0.0.1', () => {
      sock.write(Buffer.alloc(64, 0xff))
    })
    sock.on('error', () => {})
    onTestFinished(() => {
      sock.destroy()
    })
    await until(() => codes.includes('DD_ERR_HANDSHAKE'))
    const b = zmqNode('b')
    const push = b.route('out', { type: 'push', connect: pull.endpoints[0] })
    await b.start()
    await push.send('x', 'fine')
    await until(() => got.length === 1)
  })

  it('binding an address in use rejects with DD_ERR_ADDRESS_IN_USE', async () => {
    const a = zmqNode('a')
    const first = a.route('one', { type: 'pull', bind: 'tcp://127.0.0.1:*' })
    await a.start()
    const b = zmqNode('b')
    b.route('two', { type: 'pull', bind: first.endpoints[0] })
    await expect(b.start()).rejects.toMatchObject({ code: 'DD_ERR_ADDRESS_IN_USE' })
  })

  it('validates transport and route options once, with the option path in the message', () => {
    expect(() => zmqTransport({ heartbeatIntervalMs: -1 })).toThrow(
      /^options\.heartbeatIntervalMs must be a non-negative integer/,
    )
    expect(() => zmqTransport({ batchMaxMessages: 0 })).toThrow(/options\.batchMaxMessages/)
    const node = zmqNode('a')
    expect(() =>
      // @ts-expect-error: a wrong type fails to compile, and is refused at run time too
      node.route('jobs', { type: 'push', bind: 'tcp://127.0.0.1:*', batchMaxBytes: 'lots' }),
    ).toThrow(/^route "jobs": options\.batchMaxBytes must be a positive integer/)
  })

  it('does not take inproc:// (core keeps it) and refuses unknown route types', () => {
    const t = zmqTransport()
    expect(t.schemes).toEqual(['tcp', 'ipc'])
    const node = zmqNode('a')
    // @ts-expect-error: an unknown route type fails to compile, and is refused at run time too
    expect(() => node.route('x', { type: 'stream', bind: 'tcp://127.0.0.1:*' })).toThrow(
      expect.objectContaining({ code: 'DD_ERR_NO_TRANSPORT' }),
    )
  })
})

describe('a requester that stops reading', () => {
  it('has its replies dropped and counted (DD_ERR_UNROUTABLE), while other requesters are served', async () => {
    // Replies that find the peer's pipe full wait within maxPeerQueueBytes (1 MiB here), then are dropped.
    const node = zmqNode('svc', { socketHighWaterMark: 4, maxPeerQueueBytes: 1 << 20 })
    const codes = new Set<string>()
    const peers = new Set<string>()
    node.events.on('route:error', ({ error }) => {
      codes.add(error.code)
      if (error instanceof UnroutableError && error.count > 0)
        peers.add(Buffer.concat(error.peer ?? []).toString())
    })
    const rep = node.route('svc', { type: 'rep', bind: 'tcp://127.0.0.1:*' })
    rep.on('echo', ({ body }) => ({ body, pad: new Uint8Array(16 * 1024) }))
    await node.start()
    // A raw DEALER that sends many requests and never reads a reply.
    const deaf = new zmq.Dealer({ receiveHighWaterMark: 1, routingId: 'deaf-peer' })
    onTestFinished(() => {
      deaf.linger = 0
      deaf.close()
    })
    deaf.connect(rep.endpoints[0])
    const { encode } = await import('@msgpack/msgpack')
    for (let i = 1; i <= 2000; i++) await deaf.send(encode([1, 'echo', { $id: i }, i]))
    await until(() => rep.stats.dropped > 0, 10_000, 'replies to the deaf peer to be dropped')
    expect(codes.has('DD_ERR_UNROUTABLE')).toBe(true)
    // The error names whose replies were dropped, so an owner can fail or re-send them.
    expect([...peers]).toEqual(['deaf-peer'])
    const client = zmqNode('client')
    const req = client.route('svc', { type: 'req', connect: rep.endpoints[0], timeoutMs: 5000 })
    await client.start()
    expect((await req.request('echo', 'still here')).body.body).toBe('still here')
  })
})

describe('a requester that went away', () => {
  it('is counted in stats.aborted, not stats.errors, when its reply cannot be delivered', async () => {
    const node = zmqNode('svc')
    const errors: string[] = []
    node.events.on('route:error', ({ error }) => errors.push(error.code))
    let release!: () => void
    const released = new Promise<void>((r) => {
      release = r
    })
    const rep = node.route('svc', { type: 'rep', bind: 'tcp://127.0.0.1:*' })
    let started = false
    rep.on('slow', async () => {
      started = true
      await released
      return 'too late'
    })
    const gone = new Promise<void>((r) => node.events.on('route:disconnect', () => r()))
    await node.start()
    const peer = new zmq.Dealer({ linger: 0 })
    peer.connect(rep.endpoints[0])
    const { encode } = await import('@msgpack/msgpack')
    await peer.send(encode([1, 'slow', { $id: 1 }, null]))
    await until(() => started, 5000, 'the handler to start')
    peer.close()
    await gone
    release()
    await until(() => rep.stats.aborted === 1, 5000, 'the reply to the gone peer to be counted')
    expect(rep.stats.errors).toBe(0)
    expect(errors).toEqual([])
  })
})

describe('byte budget of a rep route', () => {
  it('refuses a request past maxPeerQueueBytes with DD_ERR_PEER_QUEUE_FULL, while another peer is served', async () => {
    const node = zmqNode('svc', { maxPeerQueueBytes: 1000 })
    const g = gate()
    const rep = node.route('svc', { type: 'rep', bind: 'tcp://127.0.0.1:*' })
    let running = 0
    rep.on('hold', async () => {
      running++
      await g.opened
      return 'done'
    })
    rep.on('ping', () => 'pong')
    await node.start()
    const greedy = zmqNode('greedy')
    const a = greedy.route('svc', { type: 'req', connect: rep.endpoints[0], timeoutMs: 5000 })
    await greedy.start()
    const body = 'x'.repeat(600)
    const first = a.request('hold', body)
    await until(() => running === 1, 5000, 'the first request to be in its handler')
    // 600 + 600 bytes > 1000: refused at once, not queued behind the first.
    await expect(a.request('hold', body)).rejects.toMatchObject({ code: 'DD_ERR_PEER_QUEUE_FULL' })
    expect(rep.stats.dropped).toBe(1)
    const other = zmqNode('other')
    const b = other.route('svc', { type: 'req', connect: rep.endpoints[0], timeoutMs: 5000 })
    await other.start()
    expect((await b.request('ping', null)).body).toBe('pong')
    g.open()
    expect((await first).body).toBe('done')
    // The budget is released with the reply: the same peer is served again.
    expect((await a.request('ping', body)).body).toBe('pong')
  })
})
