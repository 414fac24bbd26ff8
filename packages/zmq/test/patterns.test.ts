import { type Envelope, JsonCodec } from '@dripdrop/core'
import { afterAll, describe, expect, it } from 'vitest'
import { bindAddress, PROTOS, removeIpcDir, until, zmqNode } from './helpers.js'

afterAll(removeIpcDir)

for (const proto of PROTOS) {
  describe(`patterns over ${proto}://`, () => {
    it('push -> pull delivers every envelope in order, batched, with the real bound endpoint', async () => {
      const a = zmqNode('a')
      const jobs = a.route('jobs', { type: 'push', bind: bindAddress(proto) })
      await a.start()
      expect(jobs.endpoints[0]).toMatch(proto === 'tcp' ? /^tcp:\/\/127\.0\.0\.1:\d+$/ : /^ipc:\/\//)
      const b = zmqNode('b')
      const got: number[] = []
      b.route('work', { type: 'pull', connect: jobs.endpoints[0] }).on('job', ({ body }) => {
        got.push(body.n)
      })
      await b.start()
      const N = 5000
      for (let i = 0; i < N; i++) await jobs.send('job', { n: i })
      await until(() => got.length === N)
      expect(got).toEqual(Array.from({ length: N }, (_, i) => i))
      expect(jobs.stats.batchesOut).toBeGreaterThan(0)
      expect(jobs.stats.bytesOut).toBeGreaterThan(0)
      expect(b.get('work')!.stats.batchesIn).toBe(jobs.stats.batchesOut)
    })

    it('pub -> sub filters by name prefix, several prefixes per subscriber, subscribe/unsubscribe at run time', async () => {
      const a = zmqNode('pub')
      const pub = a.route('events', { type: 'pub', bind: bindAddress(proto) })
      await a.start()
      const b = zmqNode('sub')
      const seen: string[] = []
      const sub = b
        .route('events', { type: 'sub', connect: pub.endpoints[0], subscribe: ['user.', 'order.paid'] })
        .on('*', ({ name }) => {
          seen.push(name)
        })
      await b.start()
      // A SUB's subscription reaches the PUB asynchronously: publish a probe until it arrives.
      await until(() => {
        pub.publish('user.probe', null)
        return seen.includes('user.probe')
      })
      seen.length = 0
      for (const name of ['user.created', 'order.created', 'order.paid', 'billing.x', 'user.deleted'])
        await pub.publish(name, { name })
      await pub.publish('user.end', null)
      await until(() => seen.includes('user.end'))
      expect(seen.filter((n) => n !== 'user.probe')).toEqual([
        'user.created',
        'order.paid',
        'user.deleted',
        'user.end',
      ])
      sub.unsubscribe('user.')
      sub.subscribe('billing.')
      await until(() => {
        pub.publish('billing.probe', null)
        return seen.includes('billing.probe')
      })
      seen.length = 0
      await pub.publish('user.ignored', null)
      await pub.publish('billing.end', null)
      await until(() => seen.includes('billing.end'))
      expect(seen.filter((n) => n !== 'billing.probe')).toEqual(['billing.end'])
    })

    it('pub batches only envelopes that share a topic, so prefix filtering stays exact', async () => {
      const a = zmqNode('pub')
      const pub = a.route('events', { type: 'pub', bind: bindAddress(proto) })
      await a.start()
      const b = zmqNode('sub')
      const seen: Envelope[] = []
      b.route('events', { type: 'sub', connect: pub.endpoints[0], subscribe: 'keep' }).on('*', (e) => {
        seen.push(e)
      })
      await b.start()
      await until(() => {
        pub.publish('keep.probe', null)
        return seen.length > 0
      })
      seen.length = 0
      // Alternating names make frames of one or two envelopes: 1200 envelopes are about 800 frames, within the
      // publisher's own high-water mark (1000), so nothing is dropped even if the subscriber (whose receive
      // queue is derived from bytes: 2 frames) falls behind for a moment.
      const N = 1200
      for (let i = 0; i < N; i++) pub.publish(i % 3 === 0 ? 'drop' : 'keep', i)
      await pub.publish('keep.end', null)
      await until(() => seen.some((e) => e.name === 'keep.end'))
      const kept = seen.filter((e) => e.name === 'keep').map((e) => e.body)
      expect(kept).toEqual(Array.from({ length: N }, (_, i) => i).filter((i) => i % 3 !== 0))
      expect(pub.stats.batchesOut).toBeGreaterThan(0)
    })

    it('req -> rep: many requests in flight, correlated, remote errors keep their code', async () => {
      const a = zmqNode('svc')
      const rep = a.route('svc', { type: 'rep', bind: bindAddress(proto) })
      rep.on('double', async ({ body }) => {
        await new Promise((r) => setTimeout(r, (body % 5) as number))
        return body * 2
      })
      rep.on('fail', () => {
        throw Object.assign(new Error('nope'), { code: 'E_NOPE' })
      })
      await a.start()
      const b = zmqNode('client')
      const req = b.route('svc', { type: 'req', connect: rep.endpoints[0], timeoutMs: 5000 })
      await b.start()
      const replies = await Promise.all(Array.from({ length: 500 }, (_, i) => req.request('double', i)))
      expect(replies.map((r) => r.body)).toEqual(Array.from({ length: 500 }, (_, i) => i * 2))
      await expect(req.request('fail', null)).rejects.toMatchObject({ code: 'E_NOPE', message: 'nope' })
      expect(req.pendingRequests).toBe(0)
    })

    it('raw dealer -> router: router sees the peer routing and answers with sendTo', async () => {
      const a = zmqNode('router')
      const router = a.route('r', { type: 'router', bind: bindAddress(proto) })
      router.on('hello', ({ body }, { route, from }) => {
        expect(Array.isArray(from)).toBe(true)
        route.sendTo(from, 'hi', `hi ${body}`)
      })
      await a.start()
      const b = zmqNode('dealer')
      const got: string[] = []
      const dealer = b.route('d', { type: 'dealer', connect: router.endpoints[0] })
      dealer.on('hi', ({ body }) => {
        got.push(body)
      })
      await b.start()
      await dealer.send('hello', 'bob')
      await dealer.send('hello', 'ann')
      await until(() => got.length === 2)
      expect(got).toEqual(['hi bob', 'hi ann'])
    })

    it('carries the route codec: JSON frames, single and batch', async () => {
      const codec = new JsonCodec()
      const a = zmqNode('a')
      const out = a.route('out', { type: 'push', bind: bindAddress(proto), codec })
      await a.start()
      const b = zmqNode('b')
      const got: unknown[] = []
      const inp = b.route('in', { type: 'pull', connect: out.endpoints[0], codec }).on('*', ({ body }) => {
        got.push(body)
      })
      await b.start()
      for (let i = 0; i < 100; i++) out.send('j', { i })
      await until(() => got.length === 100)
      expect(got).toEqual(Array.from({ length: 100 }, (_, i) => ({ i })))
      expect(inp.stats.batchesIn).toBeGreaterThan(0)
    })
  })
}
