/**
 * Moving a route by address must not change its behaviour. Each scenario runs the same code over inproc://
 * (core), ipc:// and tcp:// (this package) and must give the same result on all three. What a scenario
 * checks, and the differences found while writing them:
 *
 * | scenario | checks |
 * | --- | --- |
 * | request/reply | value replies, coded handler errors without a stack, DD_ERR_NO_HANDLER, DD_ERR_TIMEOUT, counters |
 * | deadlines | requests that timed out while no rep was there never run when it comes; `stats.expired` counts them |
 * | push/pull | every message delivered once, in order, none dropped; a throwing handler, an unhandled name counted |
 * | close drains | what was sent before `close()` arrives; nothing is dropped |
 * | push backpressure | a stuck puller: sends wait instead of dropping; everything arrives after it resumes |
 * | sub prefixes | prefix filtering, several prefixes, the catch-all |
 * | pub never waits | a stuck subscriber: every publish resolves; a publish that finds a matching subscriber full reaches none and is counted once in `stats.dropped`, so every subscriber sees the same messages |
 * | router to a gone peer | the peer hung up: counted in `stats.aborted`, no error (inproc reported DD_ERR_UNROUTABLE: aligned with zmq) |
 *
 * The pub rule is libzmq's (a PUB with ZMQ_XPUB_NODROP sends to all matching pipes or fails): it is the only
 * one under which a zmq publisher can count every drop, so inproc follows it (it used to drop for the full
 * subscriber only).
 *
 * Not compared: counts returned by `destroy()` (libzmq's own pipes are not counted by dripdrop, so they differ
 * by design) and round-robin fairness (zmq deals to pipes as they connect).
 */
import type { Route } from '@dripdrop/core'
import { Node, type RemoteError } from '@dripdrop/core'
import { afterAll, describe, expect, it, onTestFinished } from 'vitest'
import { zmqTransport } from '../src/index.js'
import { bindAddress, removeIpcDir, until } from './helpers.js'

const PROTOS = ['inproc', 'ipc', 'tcp'] as const
type Proto = (typeof PROTOS)[number]

afterAll(removeIpcDir)

let seq = 0
function address(proto: Proto): string {
  return proto === 'inproc' ? `inproc://semantics-${++seq}` : bindAddress(proto)
}

function node(proto: Proto, name: string): Node {
  const n = new Node({ name, transports: proto === 'inproc' ? [] : [zmqTransport()] })
  onTestFinished(() => {
    n.destroy()
  })
  return n
}

/** Small queues everywhere, so "full" means the same few messages on every transport. */
function tight(proto: Proto): object {
  return proto === 'inproc' ? {} : { socketHighWaterMark: 1, batchMaxMessages: 1 }
}

const endpoint = (route: Route) => route.endpoints[0]

describe.each(PROTOS)('same behaviour over %s', (proto) => {
  it('request/reply: values, coded errors without stacks, no handler, timeouts', async () => {
    const server = node(proto, 'server')
    const rep = server.route('rep', { type: 'rep', bind: address(proto) })
    rep.on('add', ({ body }) => body.a + body.b)
    rep.on('fail', () => {
      throw Object.assign(new Error('over quota'), { code: 'E_QUOTA' })
    })
    rep.on('hang', () => new Promise(() => {}))
    await server.start()
    const client = node(proto, 'client')
    const req = client.route('req', { type: 'req', connect: endpoint(rep), timeoutMs: 5000 })
    await client.start()

    const sum = (await req.request('add', { a: 2, b: 3 })).body
    const fail = (await req.request('fail', null).catch((e) => e)) as RemoteError
    const missing = await req.request('missing', null).catch((e) => e.code)
    const hang = await req.request('hang', null, { timeoutMs: 100 }).catch((e) => e.code)
    expect({
      sum,
      fail: { code: fail.code, message: fail.message, stack: fail.remoteStack },
      missing,
      hang,
      repErrors: rep.stats.errors,
      repUnhandled: rep.stats.unhandled,
      reqTimeouts: req.stats.timeouts,
    }).toEqual({
      sum: 5,
      fail: { code: 'E_QUOTA', message: 'over quota', stack: undefined },
      missing: 'DD_ERR_NO_HANDLER',
      hang: 'DD_ERR_TIMEOUT',
      repErrors: 1,
      repUnhandled: 1,
      reqTimeouts: 1,
    })
  })

  it('deadlines: requests that timed out while the rep was away never run when it comes back', async () => {
    // The requester binds, so the rep can come later and connect to a known endpoint.
    const client = node(proto, 'client')
    const req = client.route('req', { type: 'req', bind: address(proto), timeoutMs: 100 })
    await client.start()
    const N = 200
    const timedOut = await Promise.all(
      Array.from({ length: N }, (_, i) => req.request('job', i).catch((e) => e.code)),
    )
    const server = node(proto, 'server')
    const rep = server.route('rep', { type: 'rep', connect: endpoint(req) })
    let ran = 0
    rep.on('job', () => {
      ran++
      return 'ran'
    })
    let expiredEvents = 0
    server.events.on('request:expired', () => void expiredEvents++)
    await server.start()
    // Each stale request reaches the rep and is dropped there; when all N were, `ran` is final for them.
    await until(() => rep.stats.expired === N, 10_000, `${N} expired requests`)
    const fresh = (await req.request('job', 'fresh', { timeoutMs: 5000 })).body
    expect({
      timedOut: timedOut.every((c) => c === 'DD_ERR_TIMEOUT'),
      ran,
      expired: rep.stats.expired,
      expiredEvents,
      fresh,
    }).toEqual({ timedOut: true, ran: 1, expired: N, expiredEvents: N, fresh: 'ran' })
  })

  it('push/pull: every message once and in order, none dropped; a throwing handler is counted', async () => {
    const producer = node(proto, 'producer')
    const push = producer.route('push', { type: 'push', bind: address(proto) })
    await producer.start()
    const consumer = node(proto, 'consumer')
    const seen: number[] = []
    const pull = consumer.route('pull', { type: 'pull', connect: endpoint(push) })
    pull.on('job', ({ body }) => {
      if (body === 3) throw new Error('bad job')
      seen.push(body as number)
    })
    const handlerErrors: string[] = []
    const unhandled: string[] = []
    consumer.events.on('handler:error', ({ name }) => void handlerErrors.push(name))
    consumer.events.on('message:unhandled', ({ name }) => void unhandled.push(name))
    await consumer.start()
    for (let i = 0; i < 50; i++) await push.send('job', i)
    await push.send('nobody', null)
    await push.send('job', 50)
    await until(() => seen.length === 50, 10_000, '50 jobs')
    expect({
      seen,
      dropped: push.stats.dropped,
      errors: pull.stats.errors,
      handlerErrors,
      unhandled,
      unhandledCount: pull.stats.unhandled,
    }).toEqual({
      seen: Array.from({ length: 51 }, (_, i) => i).filter((i) => i !== 3),
      dropped: 0,
      errors: 1,
      handlerErrors: ['job'],
      unhandled: ['nobody'],
      unhandledCount: 1,
    })
  })

  it('close drains: what was sent before close() arrives, nothing is dropped', async () => {
    const consumer = node(proto, 'consumer')
    const seen: number[] = []
    const pull = consumer.route('pull', { type: 'pull', bind: address(proto) })
    pull.on('job', ({ body }) => void seen.push(body as number))
    await consumer.start()
    const producer = node(proto, 'producer')
    const push = producer.route('push', { type: 'push', connect: endpoint(pull), lingerMs: 5000 })
    await producer.start()
    const sends = Array.from({ length: 200 }, (_, i) => push.send('job', i))
    await producer.close()
    await Promise.all(sends)
    await until(() => seen.length === 200, 10_000, '200 jobs')
    expect({ seen, dropped: push.stats.dropped, state: push.state }).toEqual({
      seen: Array.from({ length: 200 }, (_, i) => i),
      dropped: 0,
      state: 'closed',
    })
  })

  it('push backpressure: a stuck puller makes sends wait, never drop', async () => {
    const producer = node(proto, 'producer')
    const push = producer.route('push', {
      type: 'push',
      bind: address(proto),
      highWaterMark: 4,
      ...tight(proto),
    })
    await producer.start()
    const consumer = node(proto, 'consumer')
    let release!: () => void
    const gate = new Promise<void>((r) => (release = r))
    const seen: number[] = []
    consumer
      .route('pull', {
        type: 'pull',
        connect: endpoint(push),
        highWaterMark: 4,
        concurrency: 1,
        ...tight(proto),
      })
      .on('job', async ({ body }) => {
        seen.push((body as { i: number }).i)
        await gate
      })
    await consumer.start()
    // 1,000 x 32 KiB: more than libzmq's pipes and the kernel's socket buffers hold together.
    const K = 1000
    const pad = 'x'.repeat(32 * 1024)
    let admitted = 0
    const sends = Array.from({ length: K }, (_, i) =>
      push.send('job', { i, pad }).then(() => void admitted++),
    )
    await until(() => seen.length === 1, 10_000, 'the first job')
    // Give the producer time to admit all it can: until the count has not moved for 10 checks. (A correct
    // route can never admit all K while the puller is stuck, whatever the timing; a dropping one would.)
    let last = -1
    let still = 0
    while (still < 10) {
      await new Promise((r) => setTimeout(r, 5))
      still = admitted === last ? still + 1 : 0
      last = admitted
    }
    const waitingWhileStuck = admitted < K
    release()
    await Promise.all(sends)
    await until(() => seen.length === K, 10_000, `${K} jobs`)
    expect({
      waitingWhileStuck,
      inOrder: seen.every((v, i) => v === i),
      dropped: push.stats.dropped,
    }).toEqual({ waitingWhileStuck: true, inOrder: true, dropped: 0 })
  })

  it('sub prefixes: one prefix, several, and the catch-all', async () => {
    const publisher = node(proto, 'publisher')
    const pub = publisher.route('pub', { type: 'pub', bind: address(proto) })
    await publisher.start()
    const subscriber = node(proto, 'subscriber')
    const got: Record<string, string[]> = { jobs: [], several: [], all: [] }
    const subs: [string, string[]][] = [
      ['jobs', ['job.']],
      ['several', ['job.done', 'user.', 'end']],
      ['all', ['']],
    ]
    for (const [name, subscribe] of subs) {
      subscriber
        .route(name, { type: 'sub', connect: endpoint(pub), subscribe: [...subscribe, 'probe'] })
        .on('*', ({ name: n }) => void got[name].push(n))
    }
    await subscriber.start()
    // Subscriptions reach a zmq PUB asynchronously: probe until every subscriber hears.
    await until(
      () => {
        void pub.publish('probe', null)
        return Object.values(got).every((g) => g.includes('probe'))
      },
      10_000,
      'subscriptions',
    )
    for (const k of Object.keys(got)) got[k] = []
    for (const name of ['job.new', 'user.login', 'job.done', 'tick', 'end']) await pub.publish(name, null)
    await until(() => got.several.includes('end') && got.all.includes('end'), 10_000, 'the end marker')
    for (const k of Object.keys(got)) got[k] = got[k].filter((n) => n !== 'probe')
    expect(got).toEqual({
      jobs: ['job.new', 'job.done'],
      several: ['user.login', 'job.done', 'end'],
      all: ['job.new', 'user.login', 'job.done', 'tick', 'end'],
    })
  })

  it('pub never waits: a stuck subscriber makes publishes drop for all (counted); subscribers see the same messages', async () => {
    const publisher = node(proto, 'publisher')
    const pub = publisher.route('pub', { type: 'pub', bind: address(proto), ...tight(proto) })
    await publisher.start()
    const subscriber = node(proto, 'subscriber')
    let release!: () => void
    const gate = new Promise<void>((r) => (release = r))
    const slow: number[] = []
    const fast: number[] = []
    subscriber
      .route('slow', {
        type: 'sub',
        connect: endpoint(pub),
        highWaterMark: 2,
        concurrency: 1,
        ...tight(proto),
      })
      .on('*', async ({ name, body }) => {
        if (name === 'probe') return
        slow.push(body as number)
        await gate
      })
    subscriber
      .route('fast', { type: 'sub', connect: endpoint(pub), ...tight(proto) })
      .on('m', ({ body }) => void fast.push(body as number))
    const probes = { slow: 0, fast: 0 }
    subscriber.get('fast')!.on('probe', () => void probes.fast++)
    await subscriber.start()
    await until(
      () => {
        void pub.publish('probe', null)
        return probes.fast > 0
      },
      10_000,
      'subscriptions',
    )
    // Large messages fill the kernel's socket buffers too, so the stuck subscriber is full on every transport.
    const K = 400
    const pad = 'x'.repeat(64 * 1024)
    let resolved = 0
    for (let i = 0; i < K; i++) {
      await pub.publish('m', i, { pad })
      resolved++
    }
    release()
    // Nothing is lost silently: each message reached the slow subscriber or was counted as dropped.
    await until(() => slow.length + pub.stats.dropped >= K, 20_000, 'the slow subscriber to settle')
    await until(() => fast.length + pub.stats.dropped >= K, 20_000, 'the fast subscriber to settle')
    expect({
      everyPublishResolved: resolved === K,
      slowMissedSome: slow.length < K,
      slowSawOrCounted: slow.length + pub.stats.dropped,
      fastSawOrCounted: fast.length + pub.stats.dropped,
    }).toEqual({ everyPublishResolved: true, slowMissedSome: true, slowSawOrCounted: K, fastSawOrCounted: K })
  })

  it('router to a peer that went away: counted as aborted, not as an error', async () => {
    const server = node(proto, 'server')
    const router = server.route('router', { type: 'router', bind: address(proto) })
    let from: unknown
    router.on('hello', (_m, ctx) => {
      from = ctx.from
    })
    const codes: string[] = []
    server.events.on('route:error', ({ error }) => void codes.push(error.code))
    await server.start()
    const client = node(proto, 'client')
    const dealer = client.route('dealer', { type: 'dealer', connect: endpoint(router) })
    await client.start()
    await dealer.send('hello', null)
    await until(() => from !== undefined, 10_000, 'hello')
    await client.close()
    // zmq learns of the disconnect asynchronously: send until the router notices the peer is gone.
    await until(
      () => {
        if (router.stats.aborted === 0) void router.sendTo(from, 'late', null)
        return router.stats.aborted > 0
      },
      10_000,
      'a send to the gone peer',
    )
    expect({ aborted: router.stats.aborted > 0, codes, errors: router.stats.errors }).toEqual({
      aborted: true,
      codes: [],
      errors: 0,
    })
  })
})
