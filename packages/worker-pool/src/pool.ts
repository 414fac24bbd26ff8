import { EventEmitter } from 'node:events'
import type { HandshakeError } from '@dripdrop/zmq'
import { DestroyedError, WorkerStartError } from './errors.js'
import { Engine } from './engine.js'
import { type FilledPoolOptions, fillPoolOptions, type PoolOptions } from './options.js'
import { RemoteListener } from './remote-listener.js'
import type { PoolStats } from './stats.js'
import { isTask, type Task } from './tasks.js'
import { ThreadLink } from './thread-link.js'

/** Internal: how a remote worker relays tasks to its threads (not exported from the package). */
export const RELAY = Symbol('dripdrop.worker-pool.relay')

/** Per-call options of {@link Pool.defer}. */
export interface DeferOptions {
  /** Aborts the task, queued or running: the call rejects with `DD_ERR_ABORTED`, the worker's signal aborts. */
  signal?: AbortSignal
  /** Run-time limit in ms, counted from dispatch; on expiry `DD_ERR_TIMEOUT` and the work is stopped. @default the pool's `timeoutMs` */
  timeoutMs?: number
  /** Limit in ms on waiting for a worker; on expiry `DD_ERR_TIMEOUT`. @default the pool's `queueTimeoutMs` */
  queueTimeoutMs?: number
  /**
   * What to do when `maxQueue` tasks are already queued: `true` waits for admission (the call stays pending),
   * `false` rejects at once with `DD_ERR_QUEUE_FULL`. @default true
   */
  wait?: boolean
}

/**
 * Life of a pool: `idle` (constructed), `starting` (binding `listen`), `open` (takes work), `closing` (drains),
 * `closed` (done). Tasks deferred before `open` wait in the queue.
 */
export type PoolState = 'idle' | 'starting' | 'open' | 'closing' | 'closed'

/** Options of {@link Pool.close}. */
export interface PoolCloseOptions {
  /** Drain at most this long, in ms, then destroy what is left (`DD_ERR_DESTROYED`). @default Infinity */
  timeoutMs?: number
}

/** Events of a {@link Pool}. */
export interface PoolEventMap {
  /** A thread or remote worker is ready for tasks. */
  'worker:up': [id: string]
  /** A thread or remote worker is gone; its running tasks were re-queued or failed. */
  'worker:down': [id: string, cause: unknown]
  /** A frame from the network was dropped (undecodable, unknown peer, old protocol) or a socket failed. */
  'frame:error': [err: unknown]
  /** A peer failed the handshake on `listen` (with `curve`: no keys, a wrong server key, a key not allowed). */
  'worker:refused': [err: HandshakeError]
}

/**
 * A pool of workers: local threads and, with `listen`, remote worker processes. Create it with
 * {@link createPool}. `defer` runs a task on whichever worker has a free slot and gives the result back here.
 */
export class Pool extends EventEmitter<PoolEventMap> {
  readonly #options: FilledPoolOptions
  readonly #engine: Engine
  readonly #threads: (ThreadLink | undefined)[] = []
  #listener: RemoteListener | undefined
  #state: PoolState = 'idle'
  #startFailures = 0
  #started: Promise<this> | undefined
  #closed: Promise<void> | undefined

  /** Use {@link createPool}, which also binds `listen`. */
  constructor(options: PoolOptions) {
    super()
    this.#options = fillPoolOptions(options)
    this.#engine = new Engine(this.#options)
    for (let i = 0; i < this.#options.threads; i++) this.#spawn(i)
  }

  /** Binds `listen`, if set. Called by {@link createPool}; a second call returns the same promise. */
  start(): Promise<this> {
    this.#started ??= this.#start()
    return this.#started
  }

  async #start(): Promise<this> {
    const o = this.#options
    if (this.#state === 'idle') this.#state = 'starting'
    if (o.listen !== undefined) {
      this.#listener = new RemoteListener(
        this.#engine,
        {
          up: (id) => this.emit('worker:up', id),
          down: (id, cause) => this.emit('worker:down', id, cause),
          frameError: (err) => this.emit('frame:error', err),
          refused: (err) => {
            this.#engine.workersRefused++
            this.emit('worker:refused', err)
          },
        },
        o,
      )
      await this.#listener.bind(o.listen)
    }
    if (this.#state === 'starting') this.#state = 'open'
    return this
  }

  /** The address remote workers connect to (OS-assigned port filled in), or undefined without `listen`. */
  get endpoint(): string | undefined {
    return this.#listener?.endpoint
  }

  get state(): PoolState {
    return this.#state
  }

  /** Counters and percentiles, computed now. */
  get stats(): PoolStats {
    return this.#engine.stats()
  }

  /**
   * Runs a task on a worker and resolves with its result. Waits for admission when the queue is full; rejects
   * with the task's own error (name, message, code, stack), `DD_ERR_TIMEOUT`, `DD_ERR_ABORTED`,
   * `DD_ERR_WORKER_CRASHED`, `DD_ERR_CLOSED` or `DD_ERR_DESTROYED`.
   *
   * @example
   * ```ts
   * const out = await pool.defer(tasks.resize, { width: 100 }, { timeoutMs: 5_000, signal })
   * ```
   */
  defer<A, R>(task: Task<A, R>, args: A, options?: DeferOptions): Promise<R>
  defer(task: string, args: unknown, options?: DeferOptions): Promise<unknown>
  defer(task: Task | string, args: unknown, options?: DeferOptions): Promise<unknown> {
    const name = typeof task === 'string' ? task : isTask(task) ? task.taskName : undefined
    if (name === undefined)
      return Promise.reject(new TypeError('task must be a handle from defineTasks or a name'))
    const o = this.#options
    return this.#engine.submit(
      name,
      args,
      options?.timeoutMs ?? o.timeoutMs,
      options?.queueTimeoutMs ?? o.queueTimeoutMs,
      options?.signal,
      options?.wait ?? true,
    )
  }

  /** Internal: the engine, for a remote worker's relay (submitJob / cancel without a promise per task). */
  get [RELAY](): Engine {
    return this.#engine
  }

  /**
   * Stops taking tasks (`DD_ERR_CLOSED`), waits for every waiting, queued and running task to settle (at most
   * `timeoutMs`, then destroys the rest), then stops the workers and frees `listen`. A second call returns the
   * same promise.
   */
  close(options?: PoolCloseOptions): Promise<void> {
    this.#closed ??= this.#close(options?.timeoutMs ?? Number.POSITIVE_INFINITY)
    return this.#closed
  }

  async #close(timeoutMs: number): Promise<void> {
    if (this.#state !== 'closed') this.#state = 'closing'
    const drained = this.#engine.drain()
    if (Number.isFinite(timeoutMs)) {
      let timer: NodeJS.Timeout | undefined
      await Promise.race([drained, new Promise((r) => (timer = setTimeout(r, timeoutMs)))])
      clearTimeout(timer)
      this.#engine.destroy(() => new DestroyedError(`the pool closed after ${timeoutMs} ms`))
    } else await drained
    await this.#stopWorkers()
  }

  /**
   * Stops now: rejects every waiting, queued and running task with `DD_ERR_DESTROYED`, terminates threads and
   * closes the socket. Returns how many tasks it rejected.
   */
  destroy(): number {
    if (this.#state === 'closed') return 0
    const n = this.#engine.destroy(() => new DestroyedError('the pool was destroyed'))
    this.#closed ??= this.#stopWorkers()
    this.#state = 'closed'
    return n
  }

  async #stopWorkers(): Promise<void> {
    this.#state = 'closed'
    const threads = this.#threads.splice(0)
    try {
      await Promise.all([...threads.map((t) => t?.terminate()), this.#listener?.close()])
    } catch {
      // Stopping is best effort; a thread that failed to terminate is gone with the process.
    }
  }

  #spawn(index: number): void {
    const o = this.#options
    this.#threads[index] = new ThreadLink(
      index,
      {
        tasksUrl: o.tasksUrl!,
        slots: o.concurrencyPerThread,
        wake: new Int32Array(new SharedArrayBuffer(4)),
      },
      this.#engine,
      {
        up: (link) => this.emit('worker:up', link.id),
        down: (link, cause, started) => {
          if (this.#state === 'closed' || this.#threads[index] !== link) return
          this.emit('worker:down', link.id, cause)
          if (started) {
            this.#spawn(index) // a crash or a timeout: replace the thread
            return
          }
          // The tasks module does not load: respawning would fail the same way.
          this.#threads[index] = undefined
          if (++this.#startFailures === o.threads && o.listen === undefined) {
            this.#engine.destroy(
              () =>
                new WorkerStartError(
                  `no thread could load ${o.tasksUrl}: ${(cause as Error)?.message}`,
                  cause,
                ),
            )
          }
        },
      },
    )
  }
}

/**
 * Creates a pool: `threads` local worker threads running the `tasks` module, and with `listen` a ZeroMQ
 * socket that remote workers (`dripdrop-worker --connect …`) join at any time.
 *
 * @example
 * ```ts
 * import tasks from './tasks.js'
 * const pool = await createPool({ tasks: new URL('./tasks.js', import.meta.url), threads: 2 })
 * console.log(await pool.defer(tasks.add, { a: 1, b: 2 }))
 * await pool.close()
 * ```
 */
export async function createPool(options: PoolOptions): Promise<Pool> {
  const pool = new Pool(options)
  try {
    return await pool.start()
  } catch (err) {
    pool.destroy()
    throw err
  }
}
