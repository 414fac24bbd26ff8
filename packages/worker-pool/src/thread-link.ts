import { Worker } from 'node:worker_threads'
import { EncodeError } from './errors.js'
import type { Engine, Job, Link } from './engine.js'
import type { PoolMessage, ThreadData, WorkerMessage } from './protocol.js'

/** What a thread tells its owner about its life. */
export interface ThreadEvents {
  up(link: ThreadLink): void
  /** `started` is false when the thread died before its tasks module loaded. */
  down(link: ThreadLink, cause: unknown, started: boolean): void
}

// Threads always run built JS: when this file itself runs from source (the test runner transpiles src/*.ts on
// the fly, which a bare worker thread cannot), the entry is taken from dist/.
const WORKER_URL = new URL(
  import.meta.url.endsWith('.ts') ? '../dist/worker.js' : './worker.js',
  import.meta.url,
)

/** One local worker thread: the main side's end of its MessagePort. Internal. */
export class ThreadLink implements Link {
  readonly id: string
  readonly slots: number
  readonly defaultTimeoutMs = Number.POSITIVE_INFINITY
  readonly inFlight = new Map<number, Job>()
  lastUsed = 0
  readonly #worker: Worker
  readonly #engine: Engine
  readonly #wake: Int32Array
  #out: unknown[] = []
  #outJobs: Job[] = []
  #started = false
  #stoppedOnPurpose = false
  #cause: unknown

  constructor(index: number, data: ThreadData, engine: Engine, events: ThreadEvents) {
    this.id = `thread:${index}`
    this.slots = data.slots
    this.#engine = engine
    this.#wake = data.wake
    this.#worker = new Worker(WORKER_URL, { workerData: data, name: `dripdrop-worker-pool-${index}` })
    this.#worker.on('message', (msg: WorkerMessage) => {
      if (msg.type === 'done') {
        const r = msg.results
        for (let i = 0; i < r.length; i += 3)
          engine.result(this, r[i] as number, r[i + 1] as number, r[i + 2])
      } else if (msg.type === 'hello') {
        this.#started = true
        engine.addLink(this)
        events.up(this)
      }
    })
    this.#worker.on('error', (err) => {
      this.#cause = err
    })
    this.#worker.on('exit', (code) => {
      const cause = this.#cause ?? new Error(`${this.id} exited with code ${code}`)
      if (this.#started) engine.removeLink(this, cause, !this.#stoppedOnPurpose)
      events.down(this, cause, this.#started)
    })
  }

  push(job: Job): void {
    this.#out.push(job.id, job.name, job.args)
    this.#outJobs.push(job)
  }

  flush(): void {
    const tasks = this.#out
    const jobs = this.#outJobs
    this.#out = []
    this.#outJobs = []
    try {
      this.#post({ type: 'run', tasks })
    } catch {
      // One value structured clone refuses fails the whole batch: send the others one by one.
      for (const job of jobs) {
        try {
          this.#post({ type: 'run', tasks: [job.id, job.name, job.args] })
        } catch (err) {
          const message = `args of task ${job.name} cannot be sent to a thread: ${(err as Error).message}`
          this.#engine.failSend(this, job, new EncodeError(message, 'DD_ERR_ENCODE_INVALID', { cause: err }))
        }
      }
    }
  }

  cancel(job: Job, reason: 'timeout' | 'abort'): void {
    // A thread cannot be made to stop a running function: the only way to stop the work is to end the thread.
    // Its other tasks go back to the queue without being charged a retry.
    if (reason === 'timeout') this.stop()
    else this.#post({ type: 'cancel', ids: [job.id] })
  }

  /** Terminates the thread; its owner replaces it. */
  stop(): void {
    this.#stoppedOnPurpose = true
    // Out of the engine now, so nothing more is dispatched to a thread that is going away; its other tasks go
    // back to the queue uncharged.
    this.#engine.removeLink(this, new Error(`${this.id} stopped for a task timeout`), false)
    void this.#worker.terminate()
  }

  /** Terminates the thread for good. */
  terminate(): Promise<number> {
    this.#stoppedOnPurpose = true
    return this.#worker.terminate()
  }

  #post(msg: PoolMessage): void {
    this.#worker.postMessage(msg)
    Atomics.add(this.#wake, 0, 1)
    Atomics.notify(this.#wake, 0, 1)
  }
}
