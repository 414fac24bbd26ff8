// Work spread over several peers stays fair under batching (issue 16): per envelope, and for requests by the
// fewest in flight, so a slow peer gets less.
import { describe, expect, it } from 'vitest'
import { until, zmqNode } from './helpers.js'

/** A rep node whose handler takes `ms` per request, one at a time (a worker with one core). */
async function worker(name: string, ms: number) {
  const node = zmqNode(name)
  const served = { n: 0 }
  const rep = node.route('work', { type: 'rep', bind: 'tcp://127.0.0.1:*', concurrency: 1 })
  rep.on('job', async ({ body }) => {
    await new Promise((r) => setTimeout(r, ms))
    served.n++
    return body
  })
  await node.start()
  return { endpoint: rep.endpoints[0], served }
}

describe('spreading over several peers', () => {
  it('req connected to a fast and a 10x slower rep: each request goes to the fewest in flight, the fast one takes most', async () => {
    const fast = await worker('fast', 2)
    const slow = await worker('slow', 20)
    const client = zmqNode('client')
    const req = client.route('work', {
      type: 'req',
      connect: [slow.endpoint, fast.endpoint],
      timeoutMs: 10_000,
    })
    await client.start()
    await req.connected({ peers: 2, timeoutMs: 5000 })
    // 8 callers in a closed loop, 240 requests: bursts of several requests leave in one writer pass.
    let next = 0
    const caller = async () => {
      while (next < 240) {
        const i = next++
        expect((await req.request('job', i)).body).toBe(i)
      }
    }
    await Promise.all(Array.from({ length: 8 }, caller))
    expect(fast.served.n + slow.served.n).toBe(240)
    // Blind round robin gives each about half (120). Fewest-in-flight: the slow one holds about one request
    // per 20 ms while the fast one serves 10, so it gets well under a quarter.
    expect(slow.served.n).toBeLessThan(60)
    expect(slow.served.n).toBeGreaterThan(0) // and it is not starved
  })

  it('push connected to two pullers spreads a burst per envelope, not per batch frame', async () => {
    const got = { a: 0, b: 0 }
    const endpoints: string[] = []
    for (const name of ['a', 'b'] as const) {
      const node = zmqNode(`pull-${name}`)
      const pull = node.route('jobs', { type: 'pull', bind: 'tcp://127.0.0.1:*' }).on('job', () => {
        got[name]++
      })
      await node.start()
      endpoints.push(pull.endpoints[0])
    }
    const producer = zmqNode('producer')
    const push = producer.route('jobs', { type: 'push', connect: endpoints })
    await producer.start()
    await push.connected({ peers: 2, timeoutMs: 5000 })
    // One burst: before, all of it left as one batch frame to one puller.
    await Promise.all(Array.from({ length: 200 }, (_, i) => push.send('job', i)))
    await until(() => got.a + got.b === 200, 5000, 'every job')
    expect(got.a).toBeGreaterThanOrEqual(80)
    expect(got.b).toBeGreaterThanOrEqual(80)
  })

  it('a bound push with two connected pullers cuts a burst so the round robin stays per envelope', async () => {
    const producer = zmqNode('producer')
    const push = producer.route('jobs', { type: 'push', bind: 'tcp://127.0.0.1:*' })
    await producer.start()
    const got = { a: 0, b: 0 }
    for (const name of ['a', 'b'] as const) {
      const node = zmqNode(`pull-${name}`)
      node.route('jobs', { type: 'pull', connect: push.endpoints[0] }).on('job', () => {
        got[name]++
      })
      await node.start()
    }
    await push.connected({ peers: 2, timeoutMs: 5000 })
    await Promise.all(Array.from({ length: 200 }, (_, i) => push.send('job', i)))
    await until(() => got.a + got.b === 200, 5000, 'every job')
    expect(got.a).toBeGreaterThanOrEqual(80)
    expect(got.b).toBeGreaterThanOrEqual(80)
  })

  it('dealer connected to two routers spreads plain sends per envelope too', async () => {
    const got = { a: 0, b: 0 }
    const endpoints: string[] = []
    for (const name of ['a', 'b'] as const) {
      const node = zmqNode(`router-${name}`)
      const router = node.route('hub', { type: 'router', bind: 'tcp://127.0.0.1:*' }).on('m', () => {
        got[name]++
      })
      await node.start()
      endpoints.push(router.endpoints[0])
    }
    const client = zmqNode('dealer')
    const dealer = client.route('hub', { type: 'dealer', connect: endpoints })
    await client.start()
    await dealer.connected({ peers: 2, timeoutMs: 5000 })
    await Promise.all(Array.from({ length: 200 }, (_, i) => dealer.send('m', i)))
    await until(() => got.a + got.b === 200, 5000, 'every message')
    expect(got.a).toBeGreaterThanOrEqual(80)
    expect(got.b).toBeGreaterThanOrEqual(80)
  })

  it('connected() rejects with DD_ERR_TIMEOUT when the peers do not come', async () => {
    const client = zmqNode('client')
    const req = client.route('work', { type: 'req', connect: ['tcp://127.0.0.1:1', 'tcp://127.0.0.1:2'] })
    await client.start()
    await expect(req.connected({ peers: 1, timeoutMs: 100 })).rejects.toMatchObject({
      code: 'DD_ERR_TIMEOUT',
    })
  })

  it('connected() before the node starts waits for the start, within the same timeout', async () => {
    const server = zmqNode('server')
    const rep = server.route('work', { type: 'rep', bind: 'tcp://127.0.0.1:*' })
    await server.start()
    const client = zmqNode('client')
    const req = client.route('work', { type: 'req', connect: rep.endpoints[0] })
    await expect(req.connected({ timeoutMs: 100 })).rejects.toMatchObject({ code: 'DD_ERR_TIMEOUT' })
    const waiting = req.connected({ timeoutMs: 5000 })
    await client.start()
    await expect(waiting).resolves.toBeUndefined()
  })
})
