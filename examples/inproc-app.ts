/**
 * A whole dripdrop app in one process: a producer pushes jobs to two workers, the workers ask a pricing
 * service (request/reply) and push results to a collector, which publishes a summary to every listener.
 * Every seam is an inproc:// address; put `tcp://` addresses in `ADDR` (and the zmq transport in the nodes)
 * and the same nodes run as separate processes on separate machines.
 *
 * Run: pnpm start   (or: node --import tsx examples/inproc-app.ts)
 */
import { Node } from '@dripdrop/core'

const ADDR = {
  jobs: 'inproc://jobs',
  results: 'inproc://results',
  prices: 'inproc://prices',
  news: 'inproc://news',
}

export async function runApp(
  jobCount = 20,
): Promise<{ total: number; byWorker: Record<string, number>; news: string[] }> {
  // --- wiring: four nodes, six routes ---
  const producer = new Node({ name: 'producer' })
  const jobs = producer.route('jobs', { type: 'push', bind: ADDR.jobs })
  const pricing = new Node({ name: 'pricing' })
  pricing.route('prices', { type: 'rep', bind: ADDR.prices }).on('price', ({ body }) => body.qty * 3)
  const collector = new Node({ name: 'collector' })
  const results = collector.route('results', { type: 'pull', bind: ADDR.results })
  const news = collector.route('news', { type: 'pub', bind: ADDR.news })
  const workers = ['w1', 'w2'].map((name) => {
    const w = new Node({ name })
    const out = w.route('results', { type: 'push', connect: ADDR.results })
    const prices = w.route('prices', { type: 'req', connect: ADDR.prices })
    w.route('jobs', { type: 'pull', connect: ADDR.jobs }).on('job', async ({ body }) => {
      const { body: price } = await prices.request('price', { qty: body.qty })
      await out.send('result', { job: body.id, price, worker: name })
    })
    return w
  })
  const listener = new Node({ name: 'listener' })
  const heard: string[] = []
  let summaryHeard!: () => void
  const summary = new Promise<void>((resolve) => (summaryHeard = resolve))
  listener.route('news', { type: 'sub', connect: ADDR.news }).on('summary', ({ body }) => {
    heard.push(body)
    summaryHeard()
  })
  // --- end of wiring ---

  let allPriced!: () => void
  const done = new Promise<void>((resolve) => (allPriced = resolve))
  const byWorker: Record<string, number> = {}
  let total = 0
  let received = 0
  results.on('result', async ({ body }) => {
    total += body.price
    byWorker[body.worker] = (byWorker[body.worker] ?? 0) + 1
    if (++received === jobCount) {
      await news.publish('summary', `${jobCount} jobs, total ${total}`)
      allPriced()
    }
  })

  const nodes = [collector, pricing, listener, ...workers, producer]
  for (const n of nodes) await n.start()
  for (let id = 1; id <= jobCount; id++) await jobs.send('job', { id, qty: id })
  await done
  await summary // the listener heard the summary (not a fixed wait: delivery is asynchronous)
  for (const n of nodes) await n.close()
  return { total, byWorker, news: heard }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const result = await runApp()
  console.log(JSON.stringify(result))
}
