import { describe, expect, it, onTestFinished } from 'vitest'
import { Node, type NodeEventMap } from '../src/index.js'

let seq = 0
const addr = () => `inproc://deadline-${++seq}`

function node(name: string): Node {
  const n = new Node({ name })
  onTestFinished(() => {
    n.destroy()
  })
  return n
}

/** Resolves once `count` `request:expired` events have been seen on `n`. */
function expiredEvents(n: Node, count: number): Promise<NodeEventMap['request:expired'][]> {
  const seen: NodeEventMap['request:expired'][] = []
  return new Promise((resolve) => {
    n.events.on('request:expired', (e) => {
      seen.push(e)
      if (seen.length === count) resolve(seen)
    })
  })
}

describe('request deadlines ($dl)', () => {
  it('a rep that comes back after its requests timed out runs none of them, and counts them', async () => {
    const a = addr()
    const client = node('client')
    const req = client.route('req', { type: 'req', connect: a, timeoutMs: 50, highWaterMark: 1000 })
    await client.start()
    const N = 300
    const results = await Promise.allSettled(Array.from({ length: N }, (_, i) => req.request('job', i)))
    expect(results.every((r) => r.status === 'rejected' && r.reason.code === 'DD_ERR_TIMEOUT')).toBe(true)

    const server = node('server')
    const rep = server.route('rep', { type: 'rep', bind: a })
    let ran = 0
    rep.on('job', () => void ran++)
    const expired = expiredEvents(server, N)
    await server.start()
    // Every queued request reaches the route, which drops it: waiting for all N events means each one was
    // looked at, so `ran` is final for them.
    const events = await expired
    expect(ran).toBe(0)
    expect(rep.stats.expired).toBe(N)
    expect(events[0]).toMatchObject({ route: 'rep', name: 'job' })
    expect(events.every((e) => e.lateMs >= 0 && typeof e.deadline === 'number')).toBe(true)
    // A request made now, within its deadline, runs.
    expect((await req.request('job', 'fresh', { timeoutMs: 5000 })).body).toBeUndefined()
    expect(ran).toBe(1)
    expect(rep.stats.expired).toBe(N)
  })

  it('a request that times out while queued behind busy handlers is dropped when its turn comes', async () => {
    const a = addr()
    const n = node('n')
    const rep = n.route('rep', { type: 'rep', bind: a, concurrency: 1 })
    const req = n.route('req', { type: 'req', connect: a })
    let release!: () => void
    const gate = new Promise<void>((r) => (release = r))
    const ran: string[] = []
    rep.on('work', async ({ body }) => {
      ran.push(body as string)
      await gate
      return body
    })
    const expired = expiredEvents(n, 1)
    await n.start()
    const first = req.request('work', 'first', { timeoutMs: 5000 })
    // Queued behind 'first' (concurrency 1): it times out before the rep reads it.
    await expect(req.request('work', 'queued', { timeoutMs: 30 })).rejects.toMatchObject({
      code: 'DD_ERR_TIMEOUT',
    })
    release()
    expect((await first).body).toBe('first')
    await expired
    expect(ran).toEqual(['first'])
    expect(rep.stats.expired).toBe(1)
  })

  it('drops an expired request on a router too, and ignores a $dl that is not a usable deadline', async () => {
    const a = addr()
    const n = node('n')
    const router = n.route('router', { type: 'router', bind: a })
    const dealer = n.route('dealer', { type: 'dealer', connect: a })
    const ran: unknown[] = []
    router.on('x', ({ body }) => {
      ran.push(body)
      return body
    })
    const expired = expiredEvents(n, 1)
    await n.start()
    // Raw sends with hand-made heads: a past deadline, a far-future one, garbage ones.
    await dealer.send({ name: 'x', head: { $id: 1, $dl: Date.now() - 1000 }, body: 'late' })
    await dealer.send({ name: 'x', head: { $id: 2, $dl: Date.now() + 1e12 }, body: 'far' })
    await dealer.send({ name: 'x', head: { $id: 3, $dl: 'soon' }, body: 'string' })
    await dealer.send({ name: 'x', head: { $id: 4, $dl: -5 }, body: 'negative' })
    // Without $id it is not a request: a deadline does not apply.
    await dealer.send({ name: 'x', head: { $dl: 1 }, body: 'no-id' })
    const reply = await dealer.request('x', 'last')
    expect(reply.body).toBe('last')
    await expired
    expect(ran).toEqual(['far', 'string', 'negative', 'no-id', 'last'])
    expect(router.stats.expired).toBe(1)
  })
})
