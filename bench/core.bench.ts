/**
 * @dripdrop/core in-process benchmarks:
 * - request/reply over inproc:// vs Moleculer 0.15 local `broker.call`, concurrency 1 and 100;
 * - push/pull over inproc:// vs Moleculer local `broker.emit` (one handler per event, like a puller), counted
 *   as deliveries: messages the receiving handler ran, not sends the route accepted;
 * - pub/sub over inproc://, deliveries to one subscriber.
 *
 * dripdrop and its peer run interleaved, in ROUNDS short turns each (peer, dripdrop, peer, dripdrop, …), so a
 * noisy neighbour on this shared machine hits both alike; each side reports its median turn.
 */
import { ServiceBroker } from 'moleculer'
import { Node } from '../packages/core/dist/index.js'
import { closedLoop, compare, measure, rate, section } from './harness.js'

const MS = Number(process.env.BENCH_MS ?? 1500)
const ROUNDS = 5
const TURN_MS = Math.max(100, Math.round(MS / ROUNDS))

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

/** Runs `peer` and `ours` alternately, ROUNDS turns each, and returns the median of each. */
async function interleaved(
  peer: () => Promise<number>,
  ours: () => Promise<number>,
): Promise<{ peer: number; ours: number }> {
  const p: number[] = []
  const o: number[] = []
  for (let i = 0; i < ROUNDS; i++) {
    p.push(await peer())
    o.push(await ours())
  }
  return { peer: median(p), ours: median(o) }
}

async function dripdropRequests(concurrency: number): Promise<number> {
  const node = new Node({ name: 'bench' })
  node.route('svc', { type: 'rep', bind: 'inproc://bench-svc' }).on('add', ({ body }) => body.a + body.b)
  const req = node.route('client', { type: 'req', connect: 'inproc://bench-svc' })
  await node.start()
  const args = { a: 1, b: 2 }
  const r = await closedLoop(() => req.request('add', args), concurrency, TURN_MS)
  await node.close()
  return r.rate
}

async function moleculerRequests(concurrency: number): Promise<number> {
  const broker = new ServiceBroker({ logger: false, metrics: false, tracing: false, transporter: null })
  broker.createService({ name: 'math', actions: { add: (ctx: any) => ctx.params.a + ctx.params.b } })
  await broker.start()
  const args = { a: 1, b: 2 }
  const r = await closedLoop(() => broker.call('math.add', args), concurrency, TURN_MS)
  await broker.stop()
  return r.rate
}

const BODY = { id: 1, payload: 'x'.repeat(64) }
const BATCH = 1000

/** Deliveries per second: each turn sends a batch and counts what the receiving handler ran meanwhile. */
function deliveries(send: () => Promise<unknown> | unknown, delivered: () => number): Promise<number> {
  return rate(async () => {
    const before = delivered()
    for (let i = 0; i < BATCH; i++) await send()
    // Let what was admitted but not yet handled arrive (inproc hands over on microtasks).
    await new Promise((r) => setImmediate(r))
    return delivered() - before
  }, TURN_MS)
}

async function dripdropPushPull(): Promise<number> {
  const node = new Node({ name: 'bench' })
  const push = node.route('push', { type: 'push', bind: 'inproc://bench-jobs' })
  let pulled = 0
  node.route('pull', { type: 'pull', connect: 'inproc://bench-jobs' }).on('job', () => void pulled++)
  await node.start()
  const r = await deliveries(
    () => push.send('job', BODY),
    () => pulled,
  )
  await node.close()
  if (pulled === 0) throw new Error('push/pull benchmark delivered nothing')
  return r
}

async function moleculerEmit(): Promise<number> {
  const broker = new ServiceBroker({ logger: false, metrics: false, tracing: false, transporter: null })
  let handled = 0
  broker.createService({ name: 'worker', events: { job: () => void handled++ } })
  await broker.start()
  const r = await deliveries(
    () => broker.emit('job', BODY),
    () => handled,
  )
  await broker.stop()
  if (handled === 0) throw new Error('moleculer emit benchmark delivered nothing')
  return r
}

section('core: in-process request/reply vs Moleculer local broker.call (interleaved, median of 5 turns)')
for (const c of [1, 100]) {
  const r = await interleaved(
    () => moleculerRequests(c),
    () => dripdropRequests(c),
  )
  compare({
    bench: `core.inproc.reqrep.c${c}`,
    unit: 'calls/s',
    dripdrop: r.ours,
    peer: 'moleculer',
    peerValue: r.peer,
    target: 1,
  })
}

section('core: in-process push/pull deliveries vs Moleculer local broker.emit (interleaved)')
{
  const r = await interleaved(moleculerEmit, dripdropPushPull)
  compare({
    bench: 'core.inproc.pushpull',
    unit: 'msg/s',
    dripdrop: r.ours,
    peer: 'moleculer.emit',
    peerValue: r.peer,
  })
}

section('core: in-process pub/sub deliveries')
{
  const node = new Node({ name: 'bench' })
  const pub = node.route('pub', { type: 'pub', bind: 'inproc://bench-news' })
  let heard = 0
  node.route('sub', { type: 'sub', connect: 'inproc://bench-news' }).on('tick', () => void heard++)
  await node.start()
  const pubRate = await deliveries(
    () => pub.publish('tick', BODY),
    () => heard,
  )
  measure({ bench: 'core.inproc.pubsub', unit: 'msg/s', dripdrop: pubRate })
  await node.close()
  if (heard === 0) throw new Error('pub/sub benchmark delivered nothing')
  if (pub.stats.dropped > 0) console.log(`core.inproc.pubsub: ${pub.stats.dropped} dropped (subscriber full)`)
}
