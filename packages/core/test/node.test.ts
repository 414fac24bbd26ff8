import { describe, expect, it, onTestFinished } from 'vitest'
import {
  Node,
  type NodeEventMap,
  type RouteOptions,
  registerTransport,
  type TransportFactory,
} from '../src/index.js'

let seq = 0
const addr = (what = 'x') => `inproc://node-${what}-${++seq}`
const tick = () => new Promise((r) => setImmediate(r))

function node(name = 'n'): Node {
  const n = new Node({ name })
  onTestFinished(() => {
    n.destroy()
  })
  return n
}

describe('Node options and routes', () => {
  it('validates route options with the option path in the message', () => {
    const n = node()
    expect(() => n.route('', { type: 'push', bind: addr() })).toThrow('route name must be a non-empty string')
    expect(() => n.route('a', { type: '' as 'push', bind: addr() })).toThrow(
      'route "a": options.type must be',
    )
    expect(() => n.route('a', { type: 'push' })).toThrow(
      'route "a": give options.bind or options.connect an address',
    )
    expect(() => n.route('a', { type: 'push', bind: 42 as unknown as string })).toThrow(
      'route "a": options.bind must be a string or an array of strings',
    )
    expect(() => n.route('a', { type: 'push', bind: addr(), highWaterMark: 0 })).toThrow(
      'route "a": options.highWaterMark must be a positive number',
    )
    expect(() => n.route('a', { type: 'push', bind: 'nowhere' })).toThrow('has no scheme')
    n.route('a', { type: 'push', bind: addr() })
    expect(() => n.route('a', { type: 'push', bind: addr() })).toThrow('route "a" is already declared')
    expect(() => new Node({ name: '' })).toThrow('options.name must be a non-empty string')
  })

  it('fails with DD_ERR_NO_TRANSPORT for an unknown scheme or a type the transport cannot open', () => {
    const n = node()
    expect(() => n.route('a', { type: 'push', bind: 'carrier-pigeon://roof' })).toThrow(
      expect.objectContaining({ code: 'DD_ERR_NO_TRANSPORT' }),
    )
    // A type no transport declared does not compile either; cast to show the runtime refusal.
    expect(() => n.route('b', { type: 'http-server', bind: addr() } as unknown as RouteOptions)).toThrow(
      expect.objectContaining({ code: 'DD_ERR_NO_TRANSPORT' }),
    )
    expect(() => n.route('c', { type: 'push', bind: [addr(), 'tcp://127.0.0.1:1'] })).toThrow('one scheme')
  })

  it('uses transports registered globally and given to the node', async () => {
    const opened: string[] = []
    const fake = (scheme: string): TransportFactory => ({
      name: scheme,
      schemes: [scheme],
      types: ['push'],
      create: (spec) => ({
        endpoints: spec.bind,
        start: async () => void opened.push(`${scheme}:${spec.name}`),
        send: () => undefined,
        close: async () => {},
        destroy: () => 0,
      }),
    })
    registerTransport(fake('globaltest'))
    const n = new Node({ transports: [fake('localtest')] })
    onTestFinished(() => void n.destroy())
    n.route('g', { type: 'push', bind: 'globaltest://a' })
    n.route('l', { type: 'push', bind: 'localtest://b' })
    await n.start()
    expect(opened.sort()).toEqual(['globaltest:g', 'localtest:l'])
  })
})

describe('Node handlers', () => {
  it('falls back to node-wide handlers, then the catch-all; a route handler wins', async () => {
    const n = node()
    const a = addr()
    const push = n.route('push', { type: 'push', bind: a })
    const pull = n.route('pull', { type: 'pull', connect: a })
    const seen: string[] = []
    pull.on('own', () => void seen.push('route:own'))
    n.on('own', () => void seen.push('node:own'))
    n.on('shared', () => void seen.push('node:shared'))
    n.on('*', ({ name }) => void seen.push(`node:*:${name}`))
    await n.start()
    for (const name of ['own', 'shared', 'other']) await push.send(name, null)
    await tick()
    expect(seen).toEqual(['route:own', 'node:shared', 'node:*:other'])
  })

  it('reports a failing handler as an event, counts it, and keeps the node running', async () => {
    const n = node()
    const a = addr()
    const push = n.route('push', { type: 'push', bind: a })
    const pull = n.route('pull', { type: 'pull', connect: a })
    const events: NodeEventMap['handler:error'][] = []
    n.events.on('handler:error', (e) => void events.push(e))
    let ok = 0
    pull.on('bad', () => {
      throw new Error('sync failure')
    })
    pull.on('worse', async () => {
      throw new Error('async failure')
    })
    pull.on('good', () => void ok++)
    await n.start()
    await push.send('bad', null)
    await push.send('worse', null)
    await push.send('good', null)
    await tick()
    expect(events.map((e) => [e.route, e.name, (e.error as Error).message])).toEqual([
      ['pull', 'bad', 'sync failure'],
      ['pull', 'worse', 'async failure'],
    ])
    expect(pull.stats.errors).toBe(2)
    expect(ok).toBe(1)
  })

  it('counts and reports messages without a handler', async () => {
    const n = node()
    const a = addr()
    const push = n.route('push', { type: 'push', bind: a })
    const pull = n.route('pull', { type: 'pull', connect: a })
    const unhandled: string[] = []
    n.events.on('message:unhandled', ({ name }) => void unhandled.push(name))
    await n.start()
    await push.send('nobody', null)
    await tick()
    expect(unhandled).toEqual(['nobody'])
    expect(pull.stats.unhandled).toBe(1)
  })
})

describe('Node lifecycle', () => {
  it('queues sends made before start() and delivers them once open', async () => {
    const n = node()
    const a = addr()
    const push = n.route('push', { type: 'push', bind: a })
    const seen: unknown[] = []
    n.route('pull', { type: 'pull', connect: a }).on('m', ({ body }) => void seen.push(body))
    const early = push.send('m', 'early')
    expect(push.state).toBe('idle')
    await n.start()
    await early
    await tick()
    expect(seen).toEqual(['early'])
    expect(push.state).toBe('open')
  })

  it('opens routes declared after start() at once', async () => {
    const n = node()
    await n.start()
    const a = addr()
    const push = n.route('push', { type: 'push', bind: a })
    const seen: unknown[] = []
    n.route('pull', { type: 'pull', connect: a }).on('m', ({ body }) => void seen.push(body))
    await push.send('m', 1)
    await tick()
    expect(seen).toEqual([1])
  })

  it('close() drains: queued messages are handled, pending requests answered, then routes are closed', async () => {
    const n = new Node()
    const a = addr('jobs')
    const s = addr('svc')
    const push = n.route('push', { type: 'push', bind: a })
    const pull = n.route('pull', { type: 'pull', connect: a, concurrency: 1 })
    const rep = n.route('rep', { type: 'rep', bind: s })
    const req = n.route('req', { type: 'req', connect: s })
    const handled: number[] = []
    pull.on('job', async ({ body }) => {
      await new Promise((r) => setTimeout(r, 1))
      handled.push(body as number)
    })
    rep.on('slow', async () => {
      await new Promise((r) => setTimeout(r, 20))
      return 'answered'
    })
    await n.start()
    for (let i = 0; i < 10; i++) await push.send('job', i)
    const pending = req.request('slow', null)
    await tick()
    await n.close()
    expect(handled).toEqual(Array.from({ length: 10 }, (_, i) => i))
    expect((await pending).body).toBe('answered')
    expect(n.state).toBe('closed')
    expect([...n.routes.values()].every((r) => r.state === 'closed')).toBe(true)
    await expect(push.send('job', 99)).rejects.toMatchObject({ code: 'DD_ERR_CLOSED' })
  })

  it('close() gives up after timeoutMs and destroys what is left', async () => {
    const n = new Node()
    const a = addr()
    const push = n.route('push', { type: 'push', bind: a })
    const pull = n.route('pull', { type: 'pull', connect: a, concurrency: 1 })
    pull.on('stuck', () => new Promise(() => {}))
    const closed: NodeEventMap['node:closed'][] = []
    n.events.on('node:closed', (e) => void closed.push(e))
    await n.start()
    for (let i = 0; i < 3; i++) await push.send('stuck', i)
    await tick()
    await n.close({ timeoutMs: 50 })
    expect(n.state).toBe('closed')
    // One message is stuck in the handler; the two behind it are dropped and counted.
    expect(closed).toEqual([{ node: 'node', dropped: 2 }])
  })

  it('destroy() ends a close() that waits for a stuck handler', async () => {
    const n = new Node()
    const a = addr()
    const push = n.route('push', { type: 'push', bind: a })
    const pull = n.route('pull', { type: 'pull', connect: a })
    pull.on('stuck', () => new Promise(() => {}))
    await n.start()
    await push.send('stuck', null)
    await tick()
    const closing = pull.close()
    expect(pull.state).toBe('closing')
    n.destroy()
    await closing
    expect(pull.state).toBe('closed')
  })

  it('destroy() rejects pending requests with DD_ERR_DESTROYED and reports what it dropped', async () => {
    const n = new Node()
    const s = addr()
    const rep = n.route('rep', { type: 'rep', bind: s, concurrency: 1 })
    const req = n.route('req', { type: 'req', connect: s })
    rep.on('hang', () => new Promise(() => {}))
    await n.start()
    const requests = Array.from({ length: 3 }, () => req.request('hang', null))
    await tick()
    const dropped = n.destroy()
    for (const p of requests) await expect(p).rejects.toMatchObject({ code: 'DD_ERR_DESTROYED' })
    // One request is in the handler; the other two were queued in the rep route and are dropped.
    expect(dropped).toBe(2)
    expect(n.destroy()).toBe(0)
  })

  it('start() twice returns the same promise; after close() it rejects with DD_ERR_CLOSED', async () => {
    const n = node()
    n.route('p', { type: 'push', bind: addr() })
    const first = n.start()
    expect(n.state).toBe('starting')
    expect(n.start()).toBe(first)
    await first
    expect(n.start()).toBe(first)
    expect(n.state).toBe('open')
    await n.close()
    // The promise of the first start() stays what it was; a new start is refused.
    expect(n.start()).toBe(first)
    const again = new Node()
    again.destroy()
    await expect(again.start()).rejects.toMatchObject({ code: 'DD_ERR_CLOSED' })
  })

  it('a second close() returns the promise of the first, which resolves only when draining is done', async () => {
    const n = new Node()
    const s = addr()
    const rep = n.route('rep', { type: 'rep', bind: s })
    const req = n.route('req', { type: 'req', connect: s })
    let finish!: () => void
    const gate = new Promise<void>((r) => (finish = r))
    rep.on('slow', async () => {
      await gate
      return 'done'
    })
    await n.start()
    const pending = req.request('slow', null)
    await tick()
    const first = n.close()
    const second = n.close({ timeoutMs: 1 })
    expect(second).toBe(first)
    const routeFirst = rep.close()
    expect(rep.close()).toBe(routeFirst)
    let settled = false
    void second.then(() => (settled = true))
    // The handler holds the close: neither promise may resolve before it finishes.
    await tick()
    await tick()
    expect(settled).toBe(false)
    expect(n.state).toBe('closing')
    finish()
    await second
    expect(n.state).toBe('closed')
    expect((await pending).body).toBe('done')
    await routeFirst
    expect(rep.state).toBe('closed')
  })
})
