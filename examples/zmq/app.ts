/**
 * The location-transparency app: the same nodes run in one process over `inproc://`, in one process over
 * `ipc://`, as separate OS processes over `tcp://`, or on two machines. Only the address map changes.
 *
 *   producer --push/pull--> workers (x2) --push/pull--> collector --pub/sub--> auditors (x2)
 *                               |  req/rep                  ^ req/rep (control)
 *                               v                           |
 *                              math            producer, auditors
 *
 * - The producer asks the collector (`control`, request/reply) whether every auditor is listening, then
 *   pushes `jobs` job envelopes.
 * - Each worker squares the job's number through the `math` service (request/reply) and pushes the result
 *   to the collector.
 * - The collector publishes each result and a final summary (`audit.*`) to every auditor (pub/sub fan-out);
 *   each auditor checks its own sum against the summary.
 *
 * Every role is a function that builds one node from an {@link Addresses} map; `run.ts` starts one role per
 * process, {@link runAll} starts them all in this one.
 */
import { Node } from '@dripdrop/core'
import { zmqTransport } from '@dripdrop/zmq'

/** A promise and the function that resolves it (Node 22 has `Promise.withResolvers()`). */
function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void
  const promise = new Promise<T>((r) => (resolve = r))
  return { promise, resolve }
}

/** Where each seam lives. Binding roles may use `tcp://host:*`; connecting roles get the real endpoint. */
export interface Addresses {
  jobs: string
  results: string
  math: string
  events: string
  control: string
}

/** A started role: its node and, for roles that finish, what they found. */
export interface Role<R = unknown> {
  node: Node
  /** Resolves with the role's result (never, for servers: math and workers). */
  done: Promise<R>
}

export interface Summary {
  count: number
  sum: number
}

const transports = [zmqTransport()]

/** Every job's result: the sum of n² for n < jobs. */
export function expectedSum(jobs: number): number {
  let sum = 0
  for (let n = 0; n < jobs; n++) sum += n * n
  return sum
}

/** The math service: answers `square`. Binds `math`. */
export async function math(addr: Addresses): Promise<Role<never>> {
  const node = new Node({ name: 'math', transports })
  node.route('math', { type: 'rep', bind: addr.math }).on('square', ({ body }) => body * body)
  await node.start()
  return { node, done: new Promise<never>(() => {}) }
}

/** A worker: pulls jobs, squares them through math, pushes results. Connects everywhere. */
export async function worker(addr: Addresses, id: string): Promise<Role<never>> {
  const node = new Node({ name: `worker-${id}`, transports })
  const square = node.route('math', { type: 'req', connect: addr.math, timeoutMs: 10_000 })
  const results = node.route('results', { type: 'push', connect: addr.results })
  node.route('jobs', { type: 'pull', connect: addr.jobs, concurrency: 16 }).on('job', async ({ body }) => {
    const { body: sq } = await square.request('square', body.n)
    await results.send('result', { n: body.n, sq, worker: id })
  })
  await node.start()
  return { node, done: new Promise<never>(() => {}) }
}

/**
 * The collector: pulls results, fans them out to the auditors, answers `control` requests. Binds `results`,
 * `events` and `control`. Done when every job's result arrived.
 */
export async function collector(addr: Addresses, jobs: number, auditors: number): Promise<Role<Summary>> {
  const node = new Node({ name: 'collector', transports })
  const events = node.route('events', { type: 'pub', bind: addr.events })
  const control = node.route('control', { type: 'rep', bind: addr.control })
  const results = node.route('results', { type: 'pull', bind: addr.results })
  const ready = new Set<string>()
  const allReady = deferred()
  if (auditors === 0) allReady.resolve()
  const done = deferred<Summary>()
  const seen = new Set<number>()
  let sum = 0
  control.on('auditor.ready', ({ body }) => {
    ready.add(body.id)
    if (ready.size === auditors) allReady.resolve()
    return true
  })
  control.on('start?', async () => {
    await allReady.promise
    return true
  })
  results.on('result', async ({ body }) => {
    if (seen.has(body.n)) return
    seen.add(body.n)
    sum += body.sq
    await events.publish('audit.result', { n: body.n, sq: body.sq })
    if (seen.size === jobs) {
      await events.publish('audit.done', { count: seen.size, sum })
      done.resolve({ count: seen.size, sum })
    }
  })
  await node.start()
  // A subscription reaches a publisher some time after the connection: say hello until every auditor heard.
  const hello = setInterval(() => void events.publish('audit.hello', null), 10)
  allReady.promise.then(() => clearInterval(hello))
  return { node, done: done.promise }
}

/** An auditor: subscribes to `audit.*`, checks the sum of the results it heard against the summary. */
export async function auditor(addr: Addresses, id: string): Promise<Role<Summary & { agrees: boolean }>> {
  const node = new Node({ name: `auditor-${id}`, transports })
  const control = node.route('control', { type: 'req', connect: addr.control, timeoutMs: 10_000 })
  const events = node.route('events', { type: 'sub', connect: addr.events, subscribe: 'audit.' })
  const done = deferred<Summary & { agrees: boolean }>()
  let said = false
  let count = 0
  let sum = 0
  events.on('audit.hello', () => {
    if (said) return
    said = true
    void control.request('auditor.ready', { id })
  })
  events.on('audit.result', ({ body }) => {
    count++
    sum += body.sq
  })
  events.on('audit.done', ({ body }) => {
    done.resolve({ count, sum, agrees: body.count === count && body.sum === sum })
  })
  await node.start()
  return { node, done: done.promise }
}

/** The producer: waits until the collector says go, then pushes `jobs` jobs. Binds `jobs`. */
export async function producer(addr: Addresses, jobs: number): Promise<Role<{ sent: number }>> {
  const node = new Node({ name: 'producer', transports })
  const out = node.route('jobs', { type: 'push', bind: addr.jobs })
  const control = node.route('control', { type: 'req', connect: addr.control, timeoutMs: 20_000 })
  await node.start()
  const done = (async () => {
    await control.request('start?', null)
    for (let n = 0; n < jobs; n++) await out.send('job', { n })
    return { sent: jobs }
  })()
  return { node, done }
}

/** What one run of the app found; the same in every deployment. */
export interface AppResult {
  collector: Summary
  auditors: (Summary & { agrees: boolean })[]
}

/** Runs every role in this process. Binding roles start first so connecting roles see real endpoints. */
export async function runAll(addr: Addresses, jobs = 500): Promise<AppResult> {
  const started: Role[] = []
  try {
    const c = await collector(addr, jobs, 2)
    started.push(c)
    const real: Addresses = {
      ...addr,
      results: c.node.get('results')!.endpoints[0],
      events: c.node.get('events')!.endpoints[0],
      control: c.node.get('control')!.endpoints[0],
    }
    const m = await math(real)
    started.push(m)
    real.math = m.node.get('math')!.endpoints[0]
    const p = await producer(real, jobs)
    started.push(p)
    real.jobs = p.node.get('jobs')!.endpoints[0]
    for (const id of ['1', '2']) started.push(await worker(real, id))
    const audits = await Promise.all(['1', '2'].map((id) => auditor(real, id)))
    started.push(...audits)
    const [summary, ...heard] = await Promise.all([c.done, ...audits.map((a) => a.done), p.done])
    return { collector: summary as Summary, auditors: heard.slice(0, 2) as AppResult['auditors'] }
  } finally {
    await Promise.all(started.map((r) => r.node.close({ timeoutMs: 2000 })))
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const addr: Addresses = {
    jobs: 'tcp://127.0.0.1:*',
    results: 'tcp://127.0.0.1:*',
    math: 'tcp://127.0.0.1:*',
    events: 'tcp://127.0.0.1:*',
    control: 'tcp://127.0.0.1:*',
  }
  console.log(JSON.stringify(await runAll(addr, 500)))
}
