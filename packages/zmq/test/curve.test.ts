// CURVE on zmq routes: a NULL peer, a peer with a wrong server key and a peer whose key is valid but not on the
// allow-list are each refused at the handshake and counted, while the listed peer is served (issue 10).
import { encode } from '@msgpack/msgpack'
import type { Route } from '@dripdrop/core'
import { describe, expect, it, onTestFinished } from 'vitest'
import * as zmq from 'zeromq'
import { type CurveOptions, generateKeyPair, HandshakeError } from '../src/index.js'
import { zapHandler } from '../src/curve/zap-handler.js'
import { until, zmqNode } from './helpers.js'

function raw<S extends zmq.Socket>(socket: S): S {
  onTestFinished(() => {
    if (socket.closed) return
    socket.linger = 0
    socket.close()
  })
  return socket
}

const PATTERNS = [
  { server: 'rep', client: 'req', raw: () => new zmq.Dealer() },
  { server: 'pull', client: 'push', raw: () => new zmq.Push() },
  { server: 'router', client: 'dealer', raw: () => new zmq.Dealer() },
] as const

/** Sends 'work' with `body` the way the client route type does; resolves with the answer when there is one. */
function work(route: Route, type: string, body: string): Promise<unknown> {
  if (type === 'req') return route.request('work', body, { timeoutMs: 20_000 }).then((e) => e.body)
  if (type === 'push') return Promise.resolve(route.send('work', body))
  return Promise.resolve(route.send('work', body))
}

describe('CURVE over tcp://', () => {
  for (const p of PATTERNS) {
    it(`${p.client} -> ${p.server}: NULL, wrong server key and unlisted key are refused and counted; the listed peer is served`, async () => {
      const server = generateKeyPair()
      const good = generateKeyPair()
      const unlisted = generateKeyPair()
      const stranger = generateKeyPair()
      const node = zmqNode('server')
      const failures: HandshakeError[] = []
      node.events.on('route:error', ({ error }) => {
        if (error instanceof HandshakeError) failures.push(error)
      })
      const seen: string[] = []
      const route = node.route('in', {
        type: p.server,
        bind: 'tcp://127.0.0.1:*',
        curve: { ...server, allow: [good.publicKey] },
      } as never)
      route.on('work', ({ body }, ctx) => {
        seen.push(body)
        if (p.server === 'router') ctx.route.sendTo(ctx.from, 'done', `done ${body}`)
        return `done ${body}`
      })
      await node.start()
      const endpoint = route.endpoints[0]

      const client = async (name: string, curve: CurveOptions) => {
        const n = zmqNode(name)
        const r = n.route('out', { type: p.client, connect: endpoint, curve } as never)
        const replies: unknown[] = []
        r.on('done', ({ body }) => {
          replies.push(body)
        })
        await n.start()
        return { node: n, route: r, replies }
      }
      const count = (reason: string, cause?: string) =>
        failures.filter(
          (f) =>
            f.reason === reason && (cause === undefined || (f.cause as { code?: string }).code === cause),
        ).length

      // 1. A raw zeromq.js peer with no keys (NULL mechanism): a mechanism mismatch.
      const nullPeer = raw(p.raw())
      nullPeer.connect(endpoint)
      const nullSent = nullPeer.send(encode([1, 'work', { $id: 1 }, 'intruder-null']))
      await until(() => count('protocol', 'ERR_ZMTP_MECHANISM_MISMATCH') > 0, 10_000, 'NULL refusal')
      nullPeer.close()
      void nullSent.catch(() => {})

      // 2. A listed client key but the wrong server key: the server cannot open its HELLO.
      const wrong = await client('wrong', { ...good, serverKey: stranger.publicKey })
      const wrongSent = work(wrong.route, p.client, 'intruder-wrong-server-key')
      void wrongSent.catch(() => {})
      await until(() => count('protocol', 'ERR_ZMTP_CRYPTOGRAPHIC') > 0, 10_000, 'wrong server key refusal')
      wrong.node.destroy()

      // 3. A valid key pair, the right server key, but a client key not on the allow-list: refused by ZAP.
      const outsider = await client('outsider', { ...unlisted, serverKey: server.publicKey })
      const outsiderSent = work(outsider.route, p.client, 'intruder-unlisted')
      void outsiderSent.catch(() => {})
      await until(() => failures.some((f) => f.reason === 'auth'), 10_000, 'allow-list refusal')
      const auth = failures.find((f) => f.reason === 'auth')!
      expect(auth.code).toBe('DD_ERR_HANDSHAKE')
      expect(auth.clientKey).toBe(unlisted.publicKey)
      expect(auth.message).toContain('not on the allow-list')

      // The listed client is served, while the outsider keeps being refused.
      const member = await client('member', { ...good, serverKey: server.publicKey })
      const answer = await work(member.route, p.client, 'member')
      if (p.client === 'req') expect(answer).toBe('done member')
      await until(() => seen.includes('member'), 10_000, 'the member served')
      if (p.client === 'dealer') await until(() => member.replies.length === 1, 10_000, 'the member answered')

      // Every refusal was counted by the route; no intruder's message reached a handler or got an answer.
      expect(route.stats.errors).toBeGreaterThanOrEqual(3)
      expect(route.stats.errors).toBe(failures.length)
      expect(seen).toEqual(['member'])
      expect(outsider.replies).toEqual([])
      outsider.node.destroy()
    })
  }

  it('sub -> pub: a NULL, a wrong-server-key and an unlisted subscriber are refused, counted and get nothing; the listed one gets the events', async () => {
    const server = generateKeyPair()
    const good = generateKeyPair()
    const unlisted = generateKeyPair()
    const node = zmqNode('publisher')
    const failures: HandshakeError[] = []
    node.events.on('route:error', ({ error }) => {
      if (error instanceof HandshakeError) failures.push(error)
    })
    const pub = node.route('events', {
      type: 'pub',
      bind: 'tcp://127.0.0.1:*',
      curve: { ...server, allow: [good.publicKey] },
    })
    await node.start()
    const endpoint = pub.endpoints[0]
    const received: Record<string, unknown[]> = { wrong: [], outsider: [], member: [] }
    const subscriber = async (name: string, curve: CurveOptions) => {
      const n = zmqNode(name)
      onTestFinished(() => {
        n.destroy()
      })
      n.route('events', { type: 'sub', connect: endpoint, subscribe: '', curve }).on('*', ({ body }) => {
        received[name]!.push(body)
      })
      await n.start()
    }
    const nullSub = raw(new zmq.Subscriber())
    nullSub.subscribe()
    nullSub.connect(endpoint)
    let nullGot = 0
    void (async () => {
      for await (const _ of nullSub) nullGot++
    })().catch(() => {})
    await until(() => failures.length >= 1, 10_000, 'the NULL subscriber refused')
    await subscriber('wrong', { ...good, serverKey: unlisted.publicKey })
    await until(
      () => failures.some((f) => (f.cause as { code?: string }).code === 'ERR_ZMTP_CRYPTOGRAPHIC'),
      10_000,
      'the wrong-server-key subscriber refused',
    )
    await subscriber('outsider', { ...unlisted, serverKey: server.publicKey })
    await until(
      () => failures.some((f) => f.reason === 'auth' && f.clientKey === unlisted.publicKey),
      10_000,
      'the unlisted subscriber refused',
    )
    await subscriber('member', { ...good, serverKey: server.publicKey })
    // Publish until the member has events (a subscription takes a moment to reach the publisher).
    for (let i = 0; i < 200 && received.member!.length < 5; i++) {
      await pub.send('tick', i)
      await new Promise((r) => setTimeout(r, 10))
    }
    expect(received.member!.length).toBeGreaterThanOrEqual(5)
    expect(received.wrong).toEqual([])
    expect(received.outsider).toEqual([])
    expect(nullGot).toBe(0)
    expect(pub.stats.errors).toBe(failures.length)
    expect(failures.length).toBeGreaterThanOrEqual(3)
  })

  it('a raw NULL REQ-style client gets no reply from a CURVE rep route, and the route keeps serving', async () => {
    const server = generateKeyPair()
    const node = zmqNode('server')
    const seen: unknown[] = []
    const rep = node.route('rep', { type: 'rep', bind: 'tcp://127.0.0.1:*', curve: server })
    rep.on('*', ({ body }) => {
      seen.push(body)
      return body
    })
    const errors: string[] = []
    node.events.on('route:error', ({ error }) => errors.push(error.code))
    await node.start()
    const dealer = raw(new zmq.Dealer())
    dealer.connect(rep.endpoints[0])
    await dealer.send(encode([1, 'x', { $id: 1 }, 'hi']))
    let replied = false
    void dealer.receive().then(
      () => {
        replied = true
      },
      () => {},
    )
    await until(() => errors.includes('DD_ERR_HANDSHAKE'), 10_000, 'the NULL peer refused')
    // A CURVE client (any key: no allow-list on this route) is served after the NULL peer was refused.
    const client = zmqNode('client')
    const req = client.route('req', {
      type: 'req',
      connect: rep.endpoints[0],
      curve: { ...generateKeyPair(), serverKey: server.publicKey },
    })
    await client.start()
    expect((await req.request('x', 'curve')).body).toBe('curve')
    expect(seen).toEqual(['curve'])
    expect(replied).toBe(false)
  })

  it('validates curve options once, with their path, and never prints the secret key', async () => {
    const pair = generateKeyPair()
    const other = generateKeyPair()
    const node = zmqNode('v')
    expect(() =>
      node.route('a', { type: 'pull', bind: 'tcp://127.0.0.1:*', curve: { ...pair, secretKey: 'short' } }),
    ).toThrow(
      /route "a": options\.curve\.secretKey must be a CURVE key in Z85 text \(40 characters\), got a string of 5 characters/,
    )
    let message = ''
    try {
      node.route('b', {
        type: 'pull',
        bind: 'tcp://127.0.0.1:*',
        curve: { ...pair, secretKey: other.secretKey },
      })
    } catch (err) {
      message = (err as Error).message
    }
    expect(message).toMatch(/options\.curve\.publicKey does not belong to .*options\.curve\.secretKey/)
    expect(message).not.toContain(other.secretKey)
    expect(() => node.route('c', { type: 'push', connect: 'tcp://127.0.0.1:1', curve: pair })).toThrow(
      /route "c": options\.curve\.serverKey is required on a route that only connects/,
    )
    expect(() =>
      node.route('d', { type: 'pull', bind: 'tcp://127.0.0.1:*', curve: { ...pair, allow: ['nope'] } }),
    ).toThrow(/options\.curve\.allow\[0\] must be a CURVE key/)
    expect(() =>
      node.route('e', { type: 'pull', bind: 'tcp://127.0.0.1:*', curve: { ...pair, bogus: 1 } as never }),
    ).toThrow(/options\.curve\.bogus is not a CURVE option/)
  })

  it('the ZAP handler is bound while a route with an allow-list runs and unbound when the last one closes', async () => {
    const pair = generateKeyPair()
    const node = zmqNode('zap')
    node.route('a', { type: 'pull', bind: 'tcp://127.0.0.1:*', curve: { ...pair, allow: [] } })
    node.route('b', { type: 'rep', bind: 'tcp://127.0.0.1:*', curve: { ...pair, allow: () => false } })
    await node.start()
    expect(zapHandler.bound).toBe(true)
    await node.close()
    expect(zapHandler.bound).toBe(false)
  })

  it('a route with an allow-list started right after another was destroyed binds the ZAP handler again', async () => {
    const pair = generateKeyPair()
    for (let i = 0; i < 5; i++) {
      const node = zmqNode(`z${i}`)
      node.route('a', { type: 'pull', bind: 'tcp://127.0.0.1:*', curve: { ...pair, allow: [] } })
      await node.start()
      expect(zapHandler.bound).toBe(true)
      node.destroy()
    }
  })
})
