/**
 * A jobs worker: pulls `job.run` from the API's `work` socket, computes, pushes `job.done` to its `done`
 * socket. Start as many as you like, on any machine that reaches the API.
 *
 * Run: node --import tsx examples/bridges/jobs/jobs-worker.ts <work> <done>
 */
import { Node } from '@dripdrop/core'
import { zmqTransport } from '@dripdrop/zmq'

export async function startWorker(work: string, doneAt: string) {
  const node = new Node({ name: `worker-${process.pid}`, transports: [zmqTransport()] })
  const done = node.route('done', { type: 'push', connect: doneAt })
  node.route('work', { type: 'pull', connect: work }).on('job.run', async ({ body }) => {
    const text = String(body.input?.text ?? '')
    await done.send('job.done', { id: body.id, result: { upper: text.toUpperCase(), worker: process.pid } })
  })
  await node.start()
  return node
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const node = await startWorker(process.argv[2], process.argv[3])
  console.log(JSON.stringify({ worker: process.pid }))
  process.on('SIGTERM', () => node.close().then(() => process.exit(0)))
}
