// The worker-thread entry: loaded by `new Worker(...)`, never imported by the main side.
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads'
import { EncodeError, toErrorBody } from '@dripdrop/core'
import {
  PROTOCOL_VERSION,
  type PoolMessage,
  STATUS_ERROR,
  type ThreadData,
  type WorkerMessage,
} from './protocol.js'
import { CLONE_VALUES, TaskRunner } from './task-runner.js'
import { loadTasks } from './load-tasks.js'
import { taskFunctions } from './tasks.js'

const port = parentPort!
const data = workerData as ThreadData
const wake = data.wake
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
        const cause = new EncodeError(
          `result cannot be sent from a thread: ${(err as Error).message}`,
          'DD_ERR_ENCODE_INVALID',
          {
            cause: err,
          },
        )
        post({ type: 'done', results: [results[i], STATUS_ERROR, toErrorBody(cause, true)] })
      }
    }
  }
  if (runner.running === 0) idleSoon()
}

function handle(msg: PoolMessage): void {
  if (msg.type === 'run') runner.run(msg.tasks)
  else if (msg.type === 'cancel') runner.cancel(msg.ids)
}

// With nothing running, the thread has nothing to do until the pool posts again: sleep in Atomics.wait, then
// read the port synchronously (piscina's trick). As soon as an async task is pending, go back to the event
// loop, which its promises need. The pool's `terminate()` interrupts the wait.
function idle(): void {
  idleQueued = false
  // Re-checked on every turn: a message may have started async tasks through the event loop meanwhile.
  while (runner.running === 0) {
    const seen = Atomics.load(wake, 0)
    const entry = receiveMessageOnPort(port)
    if (entry !== undefined) {
      handle(entry.message as PoolMessage)
      continue
    }
    Atomics.wait(wake, 0, seen)
  }
}

let idleQueued = false
function idleSoon(): void {
  if (idleQueued) return
  idleQueued = true
  // Not from inside a microtask: let the tick that finished the last task end first.
  setImmediate(idle)
}

const fns = taskFunctions(await loadTasks(data.tasksUrl))
const runner = new TaskRunner(fns, CLONE_VALUES, send)
port.on('message', (msg: PoolMessage) => {
  handle(msg)
  if (runner.running === 0) idle()
})
post({ type: 'hello', v: PROTOCOL_VERSION, slots: data.slots, tasks: [...fns.keys()], pid: process.pid })
idleSoon()
