import { availableParallelism } from 'node:os'
import { pathToFileURL } from 'node:url'
import { type Codec, DecodeError, EncodeError, type Envelope, MsgpackCodec } from '@dripdrop/codec'
import { type ErrorBody, Node, RemoteError, type Route, toErrorBody } from '@dripdrop/core'
import { type CurveOptions, type CurveSettings, validateCurve, zmqTransport } from '@dripdrop/zmq'
import { ClosedError, DestroyedError, ProtocolVersionError, WorkerStartError } from './errors.js'
import type { Engine, Job } from './engine.js'
import { Pool, RELAY } from './pool.js'
import {
  PROTOCOL_VERSION,
  type PoolMessage,
  STATUS_ERROR,
  STATUS_OK,
  type WorkerMessage,
} from './protocol.js'
import { CHANNEL_OPTIONS, ENVELOPE_OVERHEAD } from './remote-listener.js'
import { loadTasks } from './load-tasks.js'
import { taskFunctions } from './tasks.js'
import { fromEnvelope, toEnvelope } from './wire.js'

/** Options of {@link RemoteWorker}. */
export interface RemoteWorkerOptions {
  /** The pool's address, e.g. `tcp://10.0.0.5:5555`. */
  connect: string
  /** The tasks module: a `file:` URL or a path. */
  tasks: URL | string
  /**
   * Worker threads that run the tasks (this process's main thread only talks to the pool, so heartbeats are
   * answered whatever the tasks do). @default os.availableParallelism()
   */
  threads?: number
  /**
   * Tasks run at the same time, over all threads: the credit this worker advertises in its `hello`. The pool
   * caps it with its `maxWorkerConcurrency`. @default 4 × threads
   */
  concurrency?: number
  /** Heartbeat period until the pool's welcome says otherwise, in ms. @default 1000 */
  heartbeatIntervalMs?: number
  /** The pool is lost after this many silent heartbeat periods. @default 3 */
  heartbeatMisses?: number
  /** First wait between reconnect attempts, in ms (doubling up to `reconnectMaxMs`). @default 100 */
  reconnectMinMs?: number
  /** Largest wait between reconnect attempts, in ms. @default 5000 */
  reconnectMaxMs?: number
  /**
   * Largest frame, in bytes. `done` batches are cut to fit; a result that alone does not fit fails its task
   * with `DD_ERR_ENCODE_TOO_LARGE`. @default 16 MiB
   */
  maxMessageBytes?: number
  /**
   * CURVE to the pool (`@dripdrop/zmq`'s options): this worker's key pair and the pool's public key as
   * `serverKey`. A pool with an allow-list refuses a worker whose key is not on it: it never gets a task.
   * @default undefined (plain text)
   */
  curve?: CurveOptions
}

interface FilledWorkerOptions {
  connect: string
  tasksUrl: string
  threads: number
  concurrency: number
  heartbeatIntervalMs: number
  heartbeatMisses: number
  reconnectMinMs: number
  reconnectMaxMs: number
  maxMessageBytes: number
  curve: CurveSettings | undefined
}

const KNOWN = new Set([
  'connect',
  'tasks',
  'threads',
  'concurrency',
  'heartbeatIntervalMs',
  'heartbeatMisses',
  'reconnectMinMs',
  'reconnectMaxMs',
  'maxMessageBytes',
  'curve',
])

/** Bytes one result takes in a `done` batch besides its value: id (<= 9), status (1), bin header (<= 5). */
const DONE_ENTRY_BYTES = 15

function positiveInt(value: unknown, path: string, fallback: number, min = 1): number {
  if (value === undefined) return fallback
  if (!Number.isSafeInteger(value) || (value as number) < min)
    throw new TypeError(`options.${path} must be an integer >= ${min}, got ${String(value)}`)
  return value as number
}

function fillWorkerOptions(options: RemoteWorkerOptions): FilledWorkerOptions {
  if (options === null || typeof options !== 'object') throw new TypeError('options must be an object')
  for (const key of Object.keys(options)) {
    if (key === 'slots') throw new TypeError('options.slots was renamed options.concurrency')
    if (!KNOWN.has(key)) throw new TypeError(`options.${key} is not a remote worker option`)
  }
  if (typeof options.connect !== 'string' || !options.connect.includes('://')) {
    throw new TypeError('options.connect must be a ZeroMQ address such as tcp://127.0.0.1:5555')
  }
  const t = options.tasks
  let tasksUrl: string
  if (t instanceof URL) tasksUrl = t.href
  else if (typeof t === 'string') tasksUrl = /^[a-z][a-z0-9+.-]*:/i.test(t) ? t : pathToFileURL(t).href
  else throw new TypeError('options.tasks must be a URL or a path')
  const threads = positiveInt(options.threads, 'threads', availableParallelism())
  return {
    connect: options.connect,
    tasksUrl,
    threads,
    concurrency: positiveInt(options.concurrency, 'concurrency', 4 * threads),
    heartbeatIntervalMs: positiveInt(options.heartbeatIntervalMs, 'heartbeatIntervalMs', 1000),
    heartbeatMisses: positiveInt(options.heartbeatMisses, 'heartbeatMisses', 3),
    curve: validateCurve(options.curve, 'options.curve', 'client'),
    reconnectMinMs: positiveInt(options.reconnectMinMs, 'reconnectMinMs', 100),
    reconnectMaxMs: positiveInt(options.reconnectMaxMs, 'reconnectMaxMs', 5000),
    maxMessageBytes: positiveInt(options.maxMessageBytes, 'maxMessageBytes', 16 * 1024 * 1024, 1024),
  }
}

// The wire form of an error a thread reported: its own name, code, message and stack, not the relay's.
function errorBody(err: unknown): ErrorBody {
  if (err instanceof RemoteError) {
    const body: ErrorBody = { name: err.remoteName, code: err.code, message: err.message }
    if (err.remoteStack !== undefined) body.stack = err.remoteStack
    if (err.data !== undefined) body.data = err.data
    return body
  }
  return toErrorBody(err, true)
}

/**
 * `idle` (constructed), `starting` (loading, connecting, or reconnecting after losing its pool: no welcome
 * yet), `open` (welcomed, taking tasks), `closing`, `closed`.
 */
export type RemoteWorkerState = 'idle' | 'starting' | 'open' | 'closing' | 'closed'

/**
 * A worker process's end: connects a DEALER to a pool's `listen` address, says hello with its concurrency,
 * runs the tasks it is sent on its own worker threads (the local pool's engine) and answers with results. When
 * the pool goes silent it gives its tasks up and reconnects with a fresh identity, backing off. What the
 * `dripdrop-worker` CLI runs.
 *
 * @example
 * ```ts
 * const worker = new RemoteWorker({ connect: 'tcp://10.0.0.5:5555', tasks: './tasks.js', threads: 4 })
 * await worker.start()
 * ```
 */
export class RemoteWorker {
  readonly #options: FilledWorkerOptions
  readonly #codec: Codec
  /** Tasks running on the threads, by the pool's id. */
  readonly #running = new Map<number, Job>()
  readonly #budget: number
  /** The node of the current connection: one per connection, so a new connection has a new identity. */
  #node: Node | undefined
  #route: Route | undefined
  #threads: Pool | undefined
  #engine: Engine | undefined
  #taskNames: string[] = []
  #state: RemoteWorkerState = 'idle'
  #heartbeatMs: number
  #lastSeen = 0
  #lastPing = 0
  #backoff: number
  #nextAttempt = 0
  #timer: NodeJS.Timeout | undefined
  #started: { resolve: () => void; reject: (err: unknown) => void } | undefined
  #startPromise: Promise<void> | undefined
  /** Rejects start() while it waits for the threads (close or destroy meanwhile). */
  #stopStarting: ((err: unknown) => void) | undefined
  #closePromise: Promise<void> | undefined
  #results: unknown[] = []
  #resultBytes = 0
  #flushQueued = false
  readonly #flush = (): void => {
    this.#flushQueued = false
    this.#sendResults()
  }

  constructor(options: RemoteWorkerOptions) {
    this.#options = fillWorkerOptions(options)
    this.#heartbeatMs = this.#options.heartbeatIntervalMs
    this.#backoff = this.#options.reconnectMinMs
    this.#codec = new MsgpackCodec({ maxMessageBytes: this.#options.maxMessageBytes })
    this.#budget = this.#options.maxMessageBytes - ENVELOPE_OVERHEAD
  }

  get state(): RemoteWorkerState {
    return this.#state
  }

  /** Tasks running now (sent by the pool, not finished nor cancelled). */
  get running(): number {
    return this.#running.size
  }

  /**
   * Loads the tasks module, starts the threads, connects and resolves at the pool's welcome. Rejects with
   * `DD_ERR_WORKER_START` (module does not load) or `DD_ERR_PROTOCOL_VERSION` (the pool refused us). A second
   * call returns the same promise.
   */
  start(): Promise<void> {
    this.#startPromise ??= this.#start()
    return this.#startPromise
  }

  async #start(): Promise<void> {
    const o = this.#options
    if (this.#state === 'idle') this.#state = 'starting'
    const mod = await loadTasks(o.tasksUrl)
    if (['closing', 'closed'].includes(this.#state as RemoteWorkerState))
      throw new ClosedError('the worker was closed before it started')
    this.#taskNames = [...taskFunctions(mod).keys()]
    // The same engine as a local pool: tasks run on threads, this thread only speaks to the pool.
    const threads = new Pool({
      tasks: o.tasksUrl,
      threads: o.threads,
      concurrencyPerThread: Math.ceil(o.concurrency / o.threads),
      maxQueue: o.concurrency * 2,
      // A thread that crashes is replaced and its tasks re-run here, like a local pool's (default 2 retries).
    })
    this.#threads = threads
    this.#engine = threads[RELAY]
    // Say hello only once every thread has loaded the module: the pool dispatches as soon as it welcomes us.
    await new Promise<void>((resolve, reject) => {
      this.#stopStarting = reject
      let up = 0
      threads.on('worker:up', () => {
        if (++up === o.threads) resolve()
      })
      threads.on('worker:down', (id, cause) =>
        reject(new WorkerStartError(`thread ${id} could not load ${o.tasksUrl}: ${String(cause)}`, cause)),
      )
    })
      .catch((err: unknown) => {
        threads.destroy()
        throw err
      })
      .finally(() => {
        this.#stopStarting = undefined
        threads.removeAllListeners('worker:up')
        threads.removeAllListeners('worker:down')
      })
    if (['closing', 'closed'].includes(this.#state as RemoteWorkerState))
      throw new ClosedError('the worker was closed before it started')
    const welcomed = new Promise<void>((resolve, reject) => {
      this.#started = { resolve, reject }
    })
    this.#connect()
    this.#timer = setInterval(() => this.#beat(), Math.min(this.#heartbeatMs, o.reconnectMinMs))
    return welcomed
  }

  /**
   * Says bye (the pool re-queues what is running here), abandons running tasks, stops the threads and
   * disconnects. A second call returns the same promise.
   */
  close(): Promise<void> {
    this.#closePromise ??= this.#close()
    return this.#closePromise
  }

  async #close(): Promise<void> {
    if (this.#state === 'open') this.#send({ type: 'bye' })
    this.#state = 'closing'
    clearInterval(this.#timer)
    this.#cancelAll()
    // Flushes what is queued (the bye) for at most the route's lingerMs, then frees the socket.
    const node = this.#node
    this.#node = undefined
    this.#route = undefined
    await node?.close()
    this.#started?.reject(new ClosedError('the worker was closed before the pool welcomed it'))
    this.#started = undefined
    this.#stopStarting?.(new ClosedError('the worker was closed before it started'))
    this.#threads?.destroy()
    await this.#threads?.close()
    this.#state = 'closed'
  }

  /**
   * Stops now: abandons the running tasks (the pool re-runs them elsewhere when it notices), closes the socket
   * without a bye and terminates the threads. Returns how many tasks it abandoned.
   */
  destroy(): number {
    if (this.#state === 'closed') return 0
    const n = this.#running.size
    this.#state = 'closed'
    clearInterval(this.#timer)
    this.#cancelAll()
    this.#node?.destroy()
    this.#node = undefined
    this.#route = undefined
    this.#started?.reject(new DestroyedError('the worker was destroyed before the pool welcomed it'))
    this.#started = undefined
    this.#stopStarting?.(new DestroyedError('the worker was destroyed before it started'))
    this.#threads?.destroy()
    this.#closePromise ??= this.#threads?.close() ?? Promise.resolve()
    return n
  }

  #run(tasks: unknown[]): void {
    const engine = this.#engine!
    for (let i = 0; i + 2 < tasks.length; i += 3) {
      const id = tasks[i] as number
      const name = tasks[i + 1]
      if (!Number.isSafeInteger(id) || typeof name !== 'string') {
        const err = new DecodeError(
          'run entry: id must be an integer, name a string',
          'DD_ERR_DECODE_SHAPE',
          0,
        )
        this.#result(Number(id) || 0, STATUS_ERROR, err)
        continue
      }
      let args: unknown
      try {
        args = this.#codec.decodeValue(tasks[i + 2] as Uint8Array)
      } catch (err) {
        this.#result(id, STATUS_ERROR, err)
        continue
      }
      let job: Job | undefined
      const settled = (status: number, value: unknown): void => {
        // A cancelled task (the pool forgot it) is not reported; nor is a stale one after a reconnect.
        if (job !== undefined && this.#running.get(id) !== job) return
        this.#running.delete(id)
        this.#result(id, status, value)
      }
      job = engine.submitJob(
        name,
        args,
        (value) => settled(STATUS_OK, value),
        (err) => settled(STATUS_ERROR, err),
        undefined,
        undefined,
        undefined,
        false,
      )
      if (job !== undefined) this.#running.set(id, job)
    }
  }

  #cancel(ids: readonly unknown[]): void {
    for (const id of ids) {
      const job = this.#running.get(id as number)
      if (job === undefined) continue
      this.#running.delete(id as number)
      this.#engine!.cancel(job)
    }
  }

  #cancelAll(): void {
    this.#cancel([...this.#running.keys()])
  }

  // Encodes one result into the pending `done` batch, cutting the batch so that no frame exceeds the limit.
  #result(id: number, status: number, value: unknown): void {
    let wire: Uint8Array | undefined
    if (status === STATUS_OK) {
      try {
        wire = this.#codec.encodeValue(value)
        if (DONE_ENTRY_BYTES + wire.byteLength > this.#budget) {
          throw new EncodeError(
            `result of ${wire.byteLength} bytes exceeds maxMessageBytes (${this.#options.maxMessageBytes}) with the frame's overhead`,
            'DD_ERR_ENCODE_TOO_LARGE',
          )
        }
      } catch (err) {
        status = STATUS_ERROR
        value = err
        wire = undefined
      }
    }
    if (wire === undefined) {
      try {
        wire = this.#codec.encodeValue(errorBody(value))
      } catch {
        wire = this.#codec.encodeValue({
          name: 'Error',
          code: 'DD_ERR_ENCODE_INVALID',
          message: 'error not encodable',
        })
      }
      if (DONE_ENTRY_BYTES + wire.byteLength > this.#budget) {
        // A huge error message or stack: send the code and a short message only.
        wire = this.#codec.encodeValue({
          name: 'Error',
          code: 'DD_ERR_ENCODE_TOO_LARGE',
          message: 'the error was too large to send',
        })
      }
    }
    const size = DONE_ENTRY_BYTES + wire.byteLength
    if (this.#resultBytes + size > this.#budget) this.#sendResults()
    this.#results.push(id, status, wire)
    this.#resultBytes += size
    if (!this.#flushQueued) {
      this.#flushQueued = true
      // Every task that settles in this microtask round rides in the same message (within the byte limit).
      queueMicrotask(this.#flush)
    }
  }

  #sendResults(): void {
    if (this.#results.length === 0) return
    const results = this.#results
    this.#results = []
    this.#resultBytes = 0
    this.#send({ type: 'done', results })
  }

  #connect(): void {
    // A fresh node (so a fresh connection, and a fresh identity at the pool's ROUTER) per connection: the pool
    // times the old one out and re-queues its tasks, so nothing the old identity ran can be confused with
    // what the new one runs. What the old one still had queued is dropped with it.
    this.#node?.destroy()
    const o = this.#options
    const node = new Node({ name: 'dripdrop-worker', codec: this.#codec, transports: [zmqTransport()] })
    const route = node.route('pool', {
      type: 'dealer',
      connect: o.connect,
      reconnectMinMs: o.reconnectMinMs,
      reconnectMaxMs: o.reconnectMaxMs,
      lingerMs: 1000,
      ...CHANNEL_OPTIONS,
      // A CURVE client of the pool: its key pair and the pool's public key (serverKey).
      ...(o.curve === undefined ? {} : { curve: o.curve as never }),
    })
    route.on('*', (envelope) => {
      if (route === this.#route) this.#receive(envelope)
    })
    this.#node = node
    this.#route = route
    node.start().catch(() => {
      // A connect address libzmq refuses: the heartbeat check reconnects, backing off.
    })
    this.#lastSeen = Date.now()
    this.#hello()
  }

  #hello(): void {
    const slots = this.#options.concurrency
    this.#send({ type: 'hello', v: PROTOCOL_VERSION, slots, tasks: this.#taskNames, pid: process.pid })
  }

  #send(msg: WorkerMessage): void {
    // Batches are cut to fit and values are encoded already: a failed send is only a closed route (a
    // reconnect) or a broken invariant, and it must not escape into a microtask. The pool times the tasks out.
    this.#route?.send(toEnvelope(msg)).catch(() => {})
  }

  #receive(envelope: Envelope): void {
    let msg: PoolMessage
    try {
      msg = fromEnvelope(envelope, 0) as PoolMessage
    } catch (err) {
      if (err instanceof DecodeError && err.code === 'DD_ERR_DECODE_VERSION' && this.#state === 'starting') {
        this.#fail(new ProtocolVersionError(`the pool speaks another protocol: ${err.message}`, undefined))
      }
      return // garbage from the network is dropped, never thrown
    }
    this.#lastSeen = Date.now()
    switch (msg.type) {
      case 'welcome':
        this.#heartbeatMs = msg.heartbeatMs
        this.#backoff = this.#options.reconnectMinMs
        if (this.#state === 'starting') {
          this.#state = 'open'
          this.#started?.resolve()
          this.#started = undefined
        }
        break
      case 'refuse':
        this.#fail(new ProtocolVersionError(`the pool refused this worker: ${msg.message}`, PROTOCOL_VERSION))
        break
      case 'run':
        this.#run(msg.tasks)
        break
      case 'cancel':
        this.#cancel(msg.ids)
        break
      case 'bye':
        // The pool does not know us (it restarted) or is closing: give up our tasks, say hello again.
        this.#cancelAll()
        this.#state = 'starting'
        this.#hello()
        break
    }
  }

  #fail(err: Error): void {
    const started = this.#started
    this.#started = undefined
    void this.close()
    started?.reject(err)
  }

  #beat(): void {
    if (this.#state === 'closed' || this.#state === 'closing') return
    const now = Date.now()
    if (now - this.#lastSeen > this.#heartbeatMs * this.#options.heartbeatMisses) {
      if (now < this.#nextAttempt) return
      // The pool is lost: its side re-queues our tasks, so stop them and come back as a new worker.
      this.#cancelAll()
      this.#state = 'starting'
      this.#nextAttempt = now + this.#backoff
      this.#backoff = Math.min(this.#backoff * 2, this.#options.reconnectMaxMs)
      this.#connect()
      return
    }
    if (this.#state === 'open' && now - this.#lastPing >= this.#heartbeatMs) {
      this.#lastPing = now
      this.#send({ type: 'ping' })
    }
  }
}
