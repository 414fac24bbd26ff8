/**
 * @dripdrop/core in-process benchmarks:
 * - request/reply over inproc:// vs Moleculer 0.15 local `broker.call`, concurrency 1 and 100;
 * - push/pull and pub/sub messages/s over inproc://.
 */
import { ServiceBroker } from 'moleculer'
import { Node } from '../packages/core/dist/index.js'
import { closedLoop, compare, measure, rate, section } from './harness.js'

const MS = Number(process.env.BENCH_MS ?? 1500)

async function dripdropRequests(concurrency: number) {
  const node = new Node({ name: 'bench' })
  node.route('svc', { type: 'rep', bind: 'inproc://bench-svc' }).on('add', ({ body }) => body.a + body.b)
  const req = node.route('client', { type: 'req', connect: 'inproc://bench-svc' })
  await node.start()
  const args = { a: 1, b: 2 }
  const r = await closedLoop(() => req.request('add', args), concurrency, MS)
  await node.close()
  return r
}

async function moleculerRequests(concurrency: number) {
  const broker = new ServiceBroker({ logger: false, metrics: false, tracing: false, transporter: null })
  broker.createService({ name: 'math', actions: { add: (ctx: any) => ctx.params.a + ctx.params.b } })
  await broker.start()
  const args = { a: 1, b: 2 }
  const r = await closedLoop(() => broker.call('math.add', args), concurrency, MS)
  await broker.stop()
  return r
}

section('core: in-process request/reply vs Moleculer local broker.call')
for (const c of [1, 100]) {
  const peer = await moleculerRequests(c)
  const ours = await dripdropRequests(c)
  compare({
    bench: `core.inproc.reqrep.c${c}`,
    unit: 'calls/s',
    dripdrop: ours.rate,
    peer: 'moleculer',
    peerValue: peer.rate,
    target: 1,
  })
}

section('core: in-process push/pull and pub/sub')
{
  const node = new Node({ name: 'bench' })
  const push = node.route('push', { type: 'push', bind: 'inproc://bench-jobs' })
  let pulled = 0
  node.route('pull', { type: 'pull', connect: 'inproc://bench-jobs' }).on('job', () => void pulled++)
  const pub = node.route('pub', { type: 'pub', bind: 'inproc://bench-news' })
  let heard = 0
  node.route('sub', { type: 'sub', connect: 'inproc://bench-news' }).on('tick', () => void heard++)
  await node.start()
  const body = { id: 1, payload: 'x'.repeat(64) }
  const batch = 1000
  const pushRate = await rate(async () => {
    for (let i = 0; i < batch; i++) await push.send('job', body)
    return batch
  }, MS)
  measure({ bench: 'core.inproc.pushpull', unit: 'msg/s', dripdrop: pushRate, target: 2_000_000 })
  const pubRate = await rate(async () => {
    for (let i = 0; i < batch; i++) await pub.publish('tick', body)
    return batch
  }, MS)
  measure({ bench: 'core.inproc.pubsub', unit: 'msg/s', dripdrop: pubRate })
  await node.close()
  if (pulled === 0 || heard === 0) throw new Error('benchmark delivered nothing')
}
