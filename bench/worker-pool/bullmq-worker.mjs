// A BullMQ worker process for the remote benchmark: the same trivial task as dripdrop's, on the local Redis.
// argv: queue name, concurrency.
import { Worker } from 'bullmq'

const [queueName, concurrency] = process.argv.slice(2)
const worker = new Worker(queueName, async (job) => job.data + 1, {
  connection: { host: '127.0.0.1', port: 6379, maxRetriesPerRequest: null },
  concurrency: Number(concurrency),
})
await worker.waitUntilReady()
console.log('ready')
process.on('SIGTERM', () => {
  void worker.close().then(() => process.exit(0))
})
