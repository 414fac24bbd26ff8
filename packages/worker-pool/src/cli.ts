#!/usr/bin/env node
// `dripdrop-worker --connect tcp://host:port --tasks ./tasks.js [--threads N] [--concurrency N] [--heartbeat-ms MS]`
import { availableParallelism } from 'node:os'
import { parseArgs } from 'node:util'
import { type CurveOptions, curveFromFlags } from '@dripdrop/zmq'
import { DripdropError } from './errors.js'
import { RemoteWorker } from './remote-worker.js'

const usage = `usage: dripdrop-worker --connect tcp://host:port --tasks ./tasks.js [options]
  --threads N          worker threads running the tasks (default: ${availableParallelism()}, the CPUs here)
  --concurrency N      tasks run at once over all threads, the credit advertised to the pool (default: 4 x threads)
  --heartbeat-ms MS    heartbeat period until the pool's welcome sets it (default: 1000)
  --max-message-bytes  largest frame, in bytes (default: 16777216)
  --slots N            deprecated alias of --concurrency
  --curve-keys DIR[/NAME]  CURVE: this worker's key pair, DIR/NAME.key + DIR/NAME.pub (NAME default: dripdrop)
  --curve-server-key K     CURVE: the pool's public key, Z85 text or a .pub file
  (or DRIPDROP_CURVE_SECRET_KEY / DRIPDROP_CURVE_SERVER_KEY in the environment)`

let values: Record<string, string | boolean | undefined>
try {
  values = parseArgs({
    options: {
      connect: { type: 'string' },
      tasks: { type: 'string' },
      threads: { type: 'string' },
      concurrency: { type: 'string' },
      slots: { type: 'string' },
      'heartbeat-ms': { type: 'string' },
      'max-message-bytes': { type: 'string' },
      'curve-keys': { type: 'string' },
      'curve-server-key': { type: 'string' },
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
if (values.slots !== undefined) {
  console.error('dripdrop-worker: --slots is deprecated, use --concurrency')
  values.concurrency ??= values.slots
}

const num = (v: string | boolean | undefined): number | undefined => (v === undefined ? undefined : Number(v))

// --curve-keys DIR (DIR/dripdrop.*) or DIR/NAME (DIR/NAME.*); --curve-server-key is Z85 or a .pub file;
// without them, DRIPDROP_CURVE_* (the one implementation shared by every dripdrop CLI).
const curveOptions = (): CurveOptions | undefined =>
  curveFromFlags(
    {
      keys: values['curve-keys'] as string | undefined,
      serverKey: values['curve-server-key'] as string | undefined,
    },
    { role: 'client' },
  )

let worker: RemoteWorker
try {
  worker = new RemoteWorker({
    curve: curveOptions(),
    connect: values.connect,
    tasks: values.tasks,
    threads: num(values.threads),
    concurrency: num(values.concurrency),
    heartbeatIntervalMs: num(values['heartbeat-ms']),
    maxMessageBytes: num(values['max-message-bytes']),
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
