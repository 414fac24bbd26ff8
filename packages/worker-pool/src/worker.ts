// The worker-thread entry: loaded by `new Worker(...)`, never imported by the main side.
import { parentPort, workerData } from 'node:worker_threads'
import { toErrorBody } from '@dripdrop/core'
import { PROTOCOL_VERSION, STATUS_ERROR, type PoolMessage, type ThreadData, type WorkerMessage } from './protocol.js'
import { CLONE_VALUES, TaskRunner } from './task-runner.js'
import { taskFunctions } from './tasks.js'

const port = parentPort!
const data = workerData as ThreadData
const post = (msg: WorkerMessage): void => port.postMessage(msg)

// A batch holding one value structured clone refuses (a function, a class instance with a symbol…) must not
// lose the others: post them one by one and turn the refused ones into errors.
function send(results: unknown[]): void {
  try {
    post({ type: 'done', results })
  } catch {
    for (let i = 0; i < results.length; i += 3) {
      try {
        post({ type: 'done', results: [results[i], results[i + 1], results[i + 2]] })
      } catch (err) {
        post({ type: 'done', results: [results[i], STATUS_ERROR, toErrorBody(err, true)] })
      }
    }
  }
}

const fns = taskFunctions(await import(data.tasksUrl))
const runner = new TaskRunner(fns, CLONE_VALUES, send)
port.on('message', (msg: PoolMessage) => {
  if (msg.type === 'run') runner.run(msg.tasks)
  else if (msg.type === 'cancel') runner.cancel(msg.ids)
})
post({ type: 'hello', v: PROTOCOL_VERSION, slots: data.slots, tasks: [...fns.keys()], pid: process.pid })
