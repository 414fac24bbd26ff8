// A foreign peer written from docs/protocol.md §8 alone: raw zeromq sockets and @msgpack/msgpack, no dripdrop
// code on that side. Only the node under test is dripdrop.
import { decode, encode } from '@msgpack/msgpack'
import { afterAll, describe, expect, it, onTestFinished } from 'vitest'
import * as zmq from 'zeromq'
import { removeIpcDir, until, zmqNode } from './helpers.js'

afterAll(removeIpcDir)

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex')
const single = (name: string, head: Record<string, unknown>, body: unknown) => encode([1, name, head, body])
const batch = (...envs: [string, Record<string, unknown>, unknown][]) =>
  encode([2, ...envs.map(([n, h, b]) => [1, n, h, b])])

function raw<S extends zmq.Socket>(socket: S): S {
  onTestFinished(() => {
    socket.linger = 0
    socket.close()
  })
  return socket
}

describe('interop with a raw ZeroMQ + msgpack peer (docs/protocol.md §8)', () => {
  it('the byte examples of the doc are what msgpack produces', () => {
    expect(hex(single('hi', {}, 7))).toBe('9401a2686980' + '07')
    expect(hex(single('add', { $id: 1 }, { a: 2, b: 3 }))).toBe(
      '9401a3616464' + '81a3246964' + '01' + '82a16102a16203',
    )
    expect(hex(single('add', { $re: 1 }, 5))).toBe('9401a361646481a32472650105')
    expect(hex(batch(['hi', {}, 7], ['hi', {}, 8]))).toBe('9302' + '9401a268698007' + '9401a268698008')
  })

  it('raw PUSH -> dripdrop pull: single and batch frames', async () => {
    const node = zmqNode('pull')
    const got: unknown[] = []
    const pull = node.route('in', { type: 'pull', bind: 'tcp://127.0.0.1:*' }).on('*', ({ name, body }) => {
      got.push([name, body])
    })
    await node.start()
    const push = raw(new zmq.Push())
    push.connect(pull.endpoints[0])
    await push.send(single('one', {}, 1))
    await push.send(batch(['two', {}, 2], ['three', { k: 'v' }, Buffer.from([1, 2])]))
    await until(() => got.length === 3)
    expect(got).toEqual([
      ['one', 1],
      ['two', 2],
      ['three', new Uint8Array([1, 2])],
    ])
    expect(pull.stats.batchesIn).toBe(1)
  })

  it('dripdrop push -> raw PULL: a lone envelope is a single frame, a burst arrives as batch frames', async () => {
    const pull = raw(new zmq.Pull())
    await pull.bind('tcp://127.0.0.1:*')
    const node = zmqNode('push')
    const push = node.route('out', { type: 'push', connect: pull.lastEndpoint! })
    await node.start()
    await push.send('lone', { n: 0 }, { trace: 't' })
    const [first] = await pull.receive()
    expect(decode(first)).toEqual([1, 'lone', { trace: 't' }, { n: 0 }])
    for (let i = 1; i <= 100; i++) push.send('burst', i)
    const seen: number[] = []
    let batches = 0
    while (seen.length < 100) {
      const parts = await pull.receive()
      expect(parts).toHaveLength(1)
      const frame = decode(parts[0]) as unknown[]
      if (frame[0] === 2) {
        batches++
        for (const env of frame.slice(1) as unknown[][]) {
          expect(env.slice(0, 3)).toEqual([1, 'burst', {}])
          seen.push(env[3] as number)
        }
      } else seen.push(frame[3] as number)
    }
    expect(seen).toEqual(Array.from({ length: 100 }, (_, i) => i + 1))
    expect(batches).toBeGreaterThan(0)
  })

  it('raw DEALER -> dripdrop rep: requests with $id, single and batched, answered with $re', async () => {
    const node = zmqNode('svc')
    const rep = node.route('svc', { type: 'rep', bind: 'tcp://127.0.0.1:*' })
    rep.on('add', ({ body }) => body.a + body.b)
    rep.on('boom', () => {
      throw Object.assign(new Error('bad'), { code: 'E_BAD' })
    })
    await node.start()
    const dealer = raw(new zmq.Dealer())
    dealer.connect(rep.endpoints[0])
    await dealer.send(single('add', { $id: 1 }, { a: 2, b: 3 }))
    await dealer.send(batch(['add', { $id: 2 }, { a: 1, b: 1 }], ['boom', { $id: 3 }, null]))
    const replies = new Map<number, unknown[]>()
    while (replies.size < 3) {
      const parts = await dealer.receive()
      const frame = decode(parts[parts.length - 1]) as unknown[]
      const envs = frame[0] === 2 ? (frame.slice(1) as unknown[][]) : [frame]
      for (const e of envs) replies.set((e[2] as { $re: number }).$re, e)
    }
    expect(replies.get(1)).toEqual([1, 'add', { $re: 1 }, 5])
    expect(replies.get(2)).toEqual([1, 'add', { $re: 2 }, 2])
    const err = replies.get(3)!
    expect(err[2]).toEqual({ $re: 3, $err: true })
    expect(err[3]).toMatchObject({ name: 'Error', code: 'E_BAD', message: 'bad' })
  })

  it('raw REQ -> dripdrop rep: the empty delimiter is echoed back', async () => {
    const node = zmqNode('svc')
    const rep = node.route('svc', { type: 'rep', bind: 'tcp://127.0.0.1:*' })
    rep.on('echo', ({ body }) => body)
    await node.start()
    const req = raw(new zmq.Request())
    req.connect(rep.endpoints[0])
    await req.send(single('echo', { $id: 9 }, 'hello'))
    const [frame] = await req.receive()
    expect(decode(frame)).toEqual([1, 'echo', { $re: 9 }, 'hello'])
  })

  it('dripdrop req -> raw ROUTER: answers out of order, a late reply is counted and dropped', async () => {
    const router = raw(new zmq.Router())
    await router.bind('tcp://127.0.0.1:*')
    const node = zmqNode('client')
    const req = node.route('svc', { type: 'req', connect: router.lastEndpoint!, timeoutMs: 5000 })
    await node.start()
    const a = req.request('sq', 3)
    const b = req.request('sq', 4)
    const got: { id: Buffer; env: unknown[] }[] = []
    while (got.length < 2) {
      const [id, frame] = await router.receive()
      const f = decode(frame) as unknown[]
      for (const env of f[0] === 2 ? (f.slice(1) as unknown[][]) : [f]) got.push({ id, env })
    }
    // Answer in reverse order, both in one batch frame.
    const [x, y] = got.map(({ env }) => env)
    const reply = (e: unknown[]) => [
      e[1] as string,
      { $re: (e[2] as { $id: number }).$id },
      (e[3] as number) ** 2,
    ]
    await router.send([got[0].id, batch(reply(y) as never, reply(x) as never)])
    expect((await a).body).toBe(9)
    expect((await b).body).toBe(16)
    await router.send([got[0].id, single('sq', { $re: 999 }, 0)])
    await until(() => req.stats.unmatchedReplies === 1)
  })

  it('raw PUB -> dripdrop sub and dripdrop pub -> raw SUB: [topic, frame]', async () => {
    const pub = raw(new zmq.Publisher())
    await pub.bind('tcp://127.0.0.1:*')
    const node = zmqNode('both')
    const seen: string[] = []
    node.route('in', { type: 'sub', connect: pub.lastEndpoint!, subscribe: 'a.' }).on('*', ({ name }) => {
      seen.push(name)
    })
    const out = node.route('out', { type: 'pub', bind: 'tcp://127.0.0.1:*' })
    await node.start()
    await until(() => {
      void pub.send(['a.probe', single('a.probe', {}, null)])
      return seen.length > 0
    })
    await pub.send(['b.x', single('b.x', {}, null)])
    await pub.send(['a.batch', batch(['a.one', {}, 1], ['a.two', {}, 2])])
    await until(() => seen.includes('a.two'))
    expect(seen.filter((n) => n !== 'a.probe')).toEqual(['a.one', 'a.two'])

    const sub = raw(new zmq.Subscriber())
    sub.connect(out.endpoints[0])
    sub.subscribe('x.')
    let parts: Buffer[] | undefined
    const reading = sub.receive().then((p) => {
      parts = p
    })
    await until(() => {
      void out.publish('x.hello', { v: 1 })
      return parts !== undefined
    })
    await reading
    expect(parts![0].toString()).toBe('x.hello')
    expect(decode(parts![1])).toEqual([1, 'x.hello', {}, { v: 1 }])
  })

  it('malformed frames from a foreign peer are counted as DecodeErrors, and the node keeps serving', async () => {
    const node = zmqNode('pull')
    const errors: string[] = []
    node.events.on('route:error', ({ error }) => errors.push(error.code))
    const got: unknown[] = []
    const pull = node.route('in', { type: 'pull', bind: 'tcp://127.0.0.1:*' }).on('*', ({ body }) => {
      got.push(body)
    })
    await node.start()
    const push = raw(new zmq.Push())
    push.connect(pull.endpoints[0])
    await push.send(Buffer.from('not msgpack at all'))
    await push.send(encode([7, 'x', {}, null]))
    await push.send(encode([1, '', {}, null]))
    await push.send(encode([1, 'ok', {}, 1]).subarray(0, 5))
    await push.send(single('ok', {}, 'still serving'))
    await until(() => got.length === 1)
    expect(got).toEqual(['still serving'])
    expect(pull.stats.decodeErrors).toBe(4)
    expect(errors).toEqual([
      'DD_ERR_DECODE_MALFORMED',
      'DD_ERR_DECODE_VERSION',
      'DD_ERR_DECODE_SHAPE',
      'DD_ERR_DECODE_TRUNCATED',
    ])
  })
})
