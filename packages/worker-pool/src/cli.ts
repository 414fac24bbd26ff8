#!/usr/bin/env node
// `dripdrop-worker --connect tcp://host:port --tasks ./tasks.js [--slots 8] [--heartbeat-ms 1000]`
import { parseArgs } from 'node:util'
import { DripdropError } from './errors.js'
import { RemoteWorker } from './remote-worker.js'

const usage =
  'usage: dripdrop-worker --connect tcp://host:port --tasks ./tasks.js [--slots N] [--heartbeat-ms MS]'

let values: Record<string, string | boolean | undefined>
try {
  values = parseArgs({
    options: {
      connect: { type: 'string' },
      tasks: { type: 'string' },
      slots: { type: 'string' },
      'heartbeat-ms': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  }).values
} catch (err) {
  console.error(`dripdrop-worker: ${(err as Error).message}\n${usage}`)
  process.exit(2)
}
if (values.help) {
  console.log(usage)
  process.exit(0)
}
if (typeof values.connect !== 'string' || typeof values.tasks !== 'string') {
  console.error(`dripdrop-worker: --connect and --tasks are required\n${usage}`)
  process.exit(2)
}

let worker: RemoteWorker
try {
  worker = new RemoteWorker({
    connect: values.connect,
    tasks: values.tasks,
    slots: values.slots === undefined ? undefined : Number(values.slots),
    heartbeatIntervalMs: values['heartbeat-ms'] === undefined ? undefined : Number(values['heartbeat-ms']),
  })
} catch (err) {
  console.error(`dripdrop-worker: ${(err as Error).message}\n${usage}`)
  process.exit(2)
}

const stop = (): void => {
  void worker.close().then(() => process.exit(0))
}
process.on('SIGINT', stop)
process.on('SIGTERM', stop)

try {
  await worker.start()
  console.error(`dripdrop-worker: ready, connected to ${values.connect} (pid ${process.pid})`)
} catch (err) {
  const code = err instanceof DripdropError ? err.code : 'DD_ERR_WORKER_START'
  console.error(`dripdrop-worker: ${code}: ${(err as Error).message}`)
  process.exit(1)
}
