/**
 * Jobs: `POST /jobs` over HTTP is pushed to ZeroMQ workers; each result comes back on a pull socket, is
 * delivered to the submitting browser over WebSocket (`job.done`) and is kept for `GET /jobs/:id`.
 *
 *   browser --HTTP POST /jobs--> jobs-api --push--> workers --push--> jobs-api --ws--> browser
 *
 * The browser names its WebSocket connection in the `x-dripdrop-conn` header of the POST.
 *
 * Run: node --import tsx examples/bridges/jobs/jobs-api.ts     (prints {"http", "ws", "work", "done"})
 *      node --import tsx examples/bridges/jobs/jobs-worker.ts <work> <done>
 */
import { randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'
import type { ServerResponse } from 'node:http'
import { type HttpHead, HttpStatusError, httpTransport, wsTransport } from '@dripdrop/bridges'
import { Node, type Route } from '@dripdrop/core'
import { zmqTransport } from '@dripdrop/zmq'

const page = readFileSync(new URL('./index.html', import.meta.url), 'utf8')

export interface Job {
  id: string
  status: 'queued' | 'done'
  input: unknown
  result?: unknown
  conn?: string
}

const CONN = 'x-dripdrop-conn'

/** Serves the page, with the WebSocket route's real address in it. */
const pageFor = (browsers: Route) => (_req: unknown, res: ServerResponse) =>
  res.end(page.replace('WS_URL', browsers.endpoints[0]))

/** Records a new job, queued. */
function newJob(jobs: Map<string, Job>, input: unknown, conn: string | undefined): Job {
  const job: Job = { id: randomUUID(), status: 'queued', input, conn }
  jobs.set(job.id, job)
  return job
}

/** A job, or a 404 for `GET /jobs/:id`. */
function found(job: Job | undefined): Job {
  if (job === undefined) throw new HttpStatusError(404, 'DD_ERR_HTTP_NOT_FOUND', 'no such job')
  return job
}

export async function startJobsApi(jobs = new Map<string, Job>()) {
  // --- wiring ---
  const node = new Node({ name: 'jobs-api', transports: [httpTransport(), wsTransport(), zmqTransport()] })
  const browsers = node.route('browsers', { type: 'ws-server', bind: 'ws://127.0.0.1:0' })
  const api = node.route('api', {
    type: 'http-server',
    bind: 'http://127.0.0.1:0',
    routes: { 'POST /jobs': 'job.create', 'GET /jobs/:id': 'job.get' },
    headers: [CONN],
    fallback: pageFor(browsers),
  })
  const work = node.route('work', { type: 'push', bind: 'tcp://127.0.0.1:*' })
  api.on('job.create', async ({ body, head }) => {
    const job = newJob(jobs, body, (head as HttpHead).headers?.[CONN])
    await work.send('job.run', { id: job.id, input: body })
    return { id: job.id, status: job.status }
  })
  api.on('job.get', ({ head }) => found(jobs.get((head as HttpHead).params.id)))
  node.route('done', { type: 'pull', bind: 'tcp://127.0.0.1:*' }).on('job.done', ({ body }) => {
    const job = Object.assign(jobs.get(body.id)!, { status: 'done', result: body.result })
    if (job.conn) browsers.sendTo(job.conn, 'job.done', { id: job.id, result: job.result }).catch(() => {})
  })
  // --- end of wiring ---
  await node.start()
  const [http, ws, workAt, doneAt] = [api, browsers, work, node.get('done')!].map((r) => r.endpoints[0])
  return { node, http, ws, work: workAt, done: doneAt }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { node, ...addresses } = await startJobsApi()
  console.log(JSON.stringify(addresses))
  process.on('SIGTERM', () => node.close().then(() => process.exit(0)))
}
