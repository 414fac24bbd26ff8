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
import { Node } from '@dripdrop/core'
import { zmqTransport } from '@dripdrop/zmq'

const page = readFileSync(new URL('./index.html', import.meta.url), 'utf8')

export interface Job {
  id: string
  status: 'queued' | 'done'
  input: unknown
  result?: unknown
  conn?: string
}

export async function startJobsApi() {
  // --- wiring ---
  const node = new Node({ name: 'jobs-api', transports: [httpTransport(), wsTransport(), zmqTransport()] })
  const browsers = node.route('browsers', { type: 'ws-server', bind: 'ws://127.0.0.1:0' })
  const api = node.route('api', {
    type: 'http-server',
    bind: 'http://127.0.0.1:0',
    routes: { 'POST /jobs': 'job.create', 'GET /jobs/:id': 'job.get' },
    headers: ['x-dripdrop-conn'],
    fallback: (_req: unknown, res: ServerResponse) => res.end(page.replace('WS_URL', browsers.endpoints[0])),
  })
  const work = node.route('work', { type: 'push', bind: 'tcp://127.0.0.1:*' })
  const done = node.route('done', { type: 'pull', bind: 'tcp://127.0.0.1:*' })
  const jobs = new Map<string, Job>()
  api.on('job.create', async ({ body, head }) => {
    const job: Job = {
      id: randomUUID(),
      status: 'queued',
      input: body,
      conn: (head as HttpHead).headers?.['x-dripdrop-conn'],
    }
    jobs.set(job.id, job)
    await work.send('job.run', { id: job.id, input: body })
    return { id: job.id, status: job.status }
  })
  api.on(
    'job.get',
    ({ head }) => jobs.get((head as HttpHead).params.id) ?? Promise.reject(new HttpStatusError(404)),
  )
  done.on('job.done', ({ body }) => {
    const job = Object.assign(jobs.get(body.id)!, { status: 'done', result: body.result })
    if (job.conn) browsers.sendTo(job.conn, 'job.done', { id: job.id, result: job.result }).catch(() => {})
  })
  // --- end of wiring ---
  await node.start()
  const [http, ws, workAt, doneAt] = [api, browsers, work, done].map((r) => r.endpoints[0])
  return { node, http, ws, work: workAt, done: doneAt }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { node, ...addresses } = await startJobsApi()
  console.log(JSON.stringify(addresses))
  process.on('SIGTERM', () => node.close().then(() => process.exit(0)))
}
