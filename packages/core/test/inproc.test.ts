import type { Envelope } from '@dripdrop/codec'
import { describe, expect, it, onTestFinished } from 'vitest'
import { Node, type RouteOptions } from '../src/index.js'

let seq = 0
/** A fresh inproc address per test, so tests never share channels. */
const addr = (what: string) => `inproc://${what}-${++seq}`

function started(name = 'n'): Node {
  const node = new Node({ name })
  onTestFinished(() => {
    node.destroy()
  })
  return node
}

const tick = () => new Promise((r) => setImmediate(r))

describe('inproc push/pull', () => {
  it('round-robins between pullers and delivers every message once', async () => {
    const node = started()
    const a = addr('jobs')
    const push = node.route('push', { type: 'push', bind: a })
    const got: Record<string, number[]> = { w1: [], w2: [] }
    for (const w of ['w1', 'w2']) {
      node.route(w, { type: 'pull', connect: a }).on('job', ({ body }) => {
        got[w].push(body as number)
      })
    }
    await node.start()
    for (let i = 0; i < 100; i++) await push.send('job', i)
    await tick()
    expect(got.w1.length).toBe(50)
    expect(got.w2.length).toBe(50)
    expect([...got.w1, ...got.w2].sort((x, y) => x - y)).toEqual(Array.from({ length: 100 }, (_, i) => i))
    expect(node.get('w1')!.stats.messagesIn).toBe(50)
    expect(push.stats.messagesOut).toBe(100)
  })

  it('waits for admission when every puller is full, and never drops', async () => {
    const node = started()
    const a = addr('bp')
    const push = node.route('push', { type: 'push', bind: a })
    const pull = node.route('pull', { type: 'pull', connect: a, highWaterMark: 4, concurrency: 1 })
    let release!: () => void
    const gate = new Promise<void>((r) => (release = r))
    const seen: number[] = []
    pull.on('job', async ({ body }) => {
      seen.push(body as number)
      await gate
    })
    await node.start()
    const sends: Promise<void>[] = []
    let admitted = 0
    for (let i = 0; i < 20; i++) sends.push(push.send('job', i).then(() => void admitted++))
    await tick()
    // One message is in the handler (which holds the only slot), four wait in the queue: the rest wait too.
    expect(seen).toEqual([0])
    expect(admitted).toBe(5)
    release()
    await Promise.all(sends)
    await tick()
    expect(seen).toEqual(Array.from({ length: 20 }, (_, i) => i))
  })

  it('holds sends while no puller is connected, then delivers in order', async () => {
    const node = started()
    const a = addr('late')
    const push = node.route('push', { type: 'push', bind: a, highWaterMark: 10 })
    await node.start()
    const sent = [push.send('m', 1), push.send('m', 2)]
    const seen: unknown[] = []
    node.route('pull', { type: 'pull', connect: a }).on('m', ({ body }) => void seen.push(body))
    await Promise.all(sent)
    await tick()
    expect(seen).toEqual([1, 2])
  })
})

describe('inproc pub/sub', () => {
  it('fans out to every subscriber and filters by name prefix', async () => {
    const node = started()
    const a = addr('events')
    const pub = node.route('pub', { type: 'pub', bind: a })
    const all: string[] = []
    const jobs: string[] = []
    const several: string[] = []
    node.route('all', { type: 'sub', connect: a }).on('*', ({ name }) => void all.push(name))
    node
      .route('jobs', { type: 'sub', connect: a, subscribe: 'job.' })
      .on('*', ({ name }) => void jobs.push(name))
    node
      .route('several', { type: 'sub', connect: a, subscribe: ['job.done', 'user.'] })
      .on('*', ({ name }) => void several.push(name))
    await node.start()
    for (const name of ['job.new', 'user.login', 'job.done', 'tick']) await pub.publish(name, null)
    await tick()
    expect(all).toEqual(['job.new', 'user.login', 'job.done', 'tick'])
    expect(jobs).toEqual(['job.new', 'job.done'])
    expect(several).toEqual(['user.login', 'job.done'])
  })

  it('subscribes and unsubscribes at run time', async () => {
    const node = started()
    const a = addr('dyn')
    const pub = node.route('pub', { type: 'pub', bind: a })
    const sub = node.route('sub', { type: 'sub', connect: a, subscribe: [] })
    const seen: string[] = []
    sub.on('*', ({ name }) => void seen.push(name))
    await node.start()
    await pub.publish('a.1', null)
    sub.subscribe('a.')
    await pub.publish('a.2', null)
    sub.unsubscribe('a.')
    await pub.publish('a.3', null)
    await tick()
    expect(seen).toEqual(['a.2'])
  })

  it('pub never waits: while a subscriber is full a publish reaches no one (counted once); all see the same', async () => {
    const node = started()
    const a = addr('drop')
    const pub = node.route('pub', { type: 'pub', bind: a })
    const slow = node.route('slow', { type: 'sub', connect: a, highWaterMark: 2, concurrency: 1 })
    const fast = node.route('fast', { type: 'sub', connect: a, highWaterMark: 2 })
    let release!: () => void
    const gate = new Promise<void>((r) => (release = r))
    const seen: unknown[] = []
    const fastSeen: unknown[] = []
    slow.on('*', async ({ body }) => {
      seen.push(body)
      await gate
    })
    fast.on('*', ({ body }) => void fastSeen.push(body))
    await node.start()
    // Every publish resolves while the slow handler is stuck: were pub waiting for room, this would hang.
    for (let i = 0; i < 5; i++) await pub.publish('x', i)
    expect(seen).toEqual([0])
    release()
    await tick()
    // 0 is in the stuck handler, 1 and 2 fill its queue of 2, 3 and 4 find it full: dropped and counted.
    expect(seen).toEqual([0, 1, 2])
    expect(pub.stats.dropped).toBe(2)
    // A publish reaches every matching subscriber or none (libzmq PUB's rule, so inproc and zmq agree).
    expect(fastSeen).toEqual([0, 1, 2])
  })

  it('refuses the old dropWhenFull option by name (pub always drops for a full subscriber)', () => {
    const node = started()
    expect(() =>
      node.route('pub', { type: 'pub', bind: addr('old'), dropWhenFull: true } as unknown as RouteOptions),
    ).toThrow('unknown option "dropWhenFull"')
  })
})

describe('inproc router/dealer', () => {
  it('routes raw messages back to the sender by its id', async () => {
    const node = started()
    const a = addr('raw')
    const router = node.route('router', { type: 'router', bind: a })
    const d1 = node.route('d1', { type: 'dealer', connect: a })
    const d2 = node.route('d2', { type: 'dealer', connect: a })
    router.on('hello', ({ body }, { from, route }) => route.sendTo(from, 'welcome', body))
    const got: [string, unknown][] = []
    d1.on('welcome', ({ body }) => void got.push(['d1', body]))
    d2.on('welcome', ({ body }) => void got.push(['d2', body]))
    await node.start()
    await d1.send('hello', 1)
    await d2.send('hello', 2)
    await tick()
    await tick()
    expect(got.sort()).toEqual([
      ['d1', 1],
      ['d2', 2],
    ])
  })

  it('sendTo() a peer that is gone or not a peer at all: counted as aborted (no error), or rejected', async () => {
    const node = started()
    const a = addr('gone')
    const router = node.route('router', { type: 'router', bind: a })
    const dealer = node.route('dealer', { type: 'dealer', connect: a })
    let from: unknown
    router.on('hello', (_m, ctx) => {
      from = ctx.from
    })
    const codes: string[] = []
    node.events.on('route:error', ({ error }) => void codes.push(error.code))
    await node.start()
    await dealer.send('hello', null)
    await tick()
    await dealer.close()
    await router.sendTo(from, 'late', null)
    expect({
      aborted: router.stats.aborted,
      dropped: router.stats.dropped,
      errors: router.stats.errors,
    }).toEqual({
      aborted: 1,
      dropped: 0,
      errors: 0,
    })
    expect(codes).toEqual([])
    await expect(router.sendTo('nobody', 'x', null)).rejects.toThrow('sendTo needs the `from`')
  })

  it('counts a reply whose request id is unknown and keeps working', async () => {
    const node = started()
    const a = addr('bogus')
    const router = node.route('router', { type: 'router', bind: a })
    const dealer = node.route('dealer', { type: 'dealer', connect: a })
    const unmatched: unknown[] = []
    node.events.on('reply:unmatched', ({ id }) => void unmatched.push(id))
    router.on('*', (msg: Envelope, { from, route }) => {
      // First a reply to a request nobody made, then the real answer.
      void route.sendTo(from, { name: msg.name, head: { $re: 999_999 }, body: 'stray' })
      return 'ok'
    })
    await node.start()
    const reply = await dealer.request('ping', null)
    expect(reply.body).toBe('ok')
    expect(unmatched).toEqual([999_999])
    expect(dealer.stats.unmatchedReplies).toBe(1)
  })
})

describe('inproc addresses', () => {
  it('rejects a second bind of the same address with DD_ERR_ADDRESS_IN_USE', async () => {
    const a = addr('dup')
    const one = started('one')
    one.route('p', { type: 'push', bind: a })
    await one.start()
    const two = new Node({ name: 'two' })
    two.route('p', { type: 'push', bind: a })
    await expect(two.start()).rejects.toMatchObject({ code: 'DD_ERR_ADDRESS_IN_USE' })
    expect(two.state).toBe('closed')
  })

  it('connects before the address is bound', async () => {
    const a = addr('early')
    const consumer = started('consumer')
    const seen: unknown[] = []
    consumer.route('pull', { type: 'pull', connect: a }).on('m', ({ body }) => void seen.push(body))
    await consumer.start()
    const producer = started('producer')
    const push = producer.route('push', { type: 'push', bind: a })
    await producer.start()
    await push.send('m', 'hi')
    await tick()
    expect(seen).toEqual(['hi'])
  })
})
