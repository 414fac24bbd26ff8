import { randomBytes } from 'node:crypto'
import { availableParallelism } from 'node:os'
import { pathToFileURL } from 'node:url'
import { type Codec, DecodeError, MsgpackCodec } from '@dripdrop/codec'
import { Queue } from '@dripdrop/core/internal'
import { Dealer } from 'zeromq'
import { ClosedError, ProtocolVersionError, WorkerStartError } from './errors.js'
import { PROTOCOL_VERSION, type PoolMessage, type WorkerMessage } from './protocol.js'
import { TaskRunner, type ValueCodec } from './task-runner.js'
import { taskFunctions } from './tasks.js'
import { decodeMessage, encodeMessage } from './wire.js'

/** Options of {@link RemoteWorker}. */
export interface RemoteWorkerOptions {
  /** The pool's address, e.g. `tcp://10.0.0.5:5555`. */
  connect: string
  /** The tasks module: a `file:` URL or a path. */
  tasks: URL | string
  /** Tasks run at the same time (the credit the worker advertises). @default os.availableParallelism() */
  slots?: number
  /** Heartbeat period until the pool's welcome says otherwise, in ms. @default 1000 */
  heartbeatIntervalMs?: number
  /** The pool is lost after this many silent heartbeat periods. @default 3 */
  heartbeatMisses?: number
  /** First and largest wait between reconnect attempts, in ms (doubling). @default 100 and 5000 */
  reconnectMinMs?: number
  reconnectMaxMs?: number
  /** Largest frame, in bytes. @default 16 MiB */
  maxMessageBytes?: number
}

/** `connecting` (no welcome yet), `ready` (taking tasks), `closed`. */
export type RemoteWorkerState = 'connecting' | 'ready' | 'closed'

/**
 * A worker process's end: connects a DEALER to a pool's `listen` address, says hello with its slots, runs the
 * tasks it is sent and answers with results. When the pool goes silent it gives its tasks up and reconnects
 * with a fresh identity, backing off. What the `dripdrop-worker` CLI runs.
 *
 * @example
 * ```ts
 * const worker = new RemoteWorker({ connect: 'tcp://10.0.0.5:5555', tasks: './tasks.js', slots: 8 })
 * await worker.start()
 * ```
 */
export class RemoteWorker {
  readonly #options: Required<Omit<RemoteWorkerOptions, 'tasks'>> & { tasksUrl: string }
  readonly #codec: Codec
  readonly #outbox = new Queue<Uint8Array>()
  #dealer: Dealer | undefined
  #runner: TaskRunner | undefined
  #taskNames: string[] = []
  #state: RemoteWorkerState = 'connecting'
  #writing = false
  #heartbeatMs: number
  #lastSeen = 0
  #backoff: number
  #nextAttempt = 0
  #timer: NodeJS.Timeout | undefined
  #started: { resolve: () => void; reject: (err: unknown) => void } | undefined

  constructor(options: RemoteWorkerOptions) {
    const t = options.tasks
    const tasksUrl = t instanceof URL ? t.href : /^[a-z][a-z0-9+.-]*:/i.test(t) ? t : pathToFileURL(t).href
    const slots = options.slots ?? availableParallelism()
    if (!Number.isSafeInteger(slots) || slots < 1)
      throw new TypeError('options.slots must be an integer >= 1')
    if (typeof options.connect !== 'string' || !options.connect.includes('://')) {
      throw new TypeError('options.connect must be a ZeroMQ address such as tcp://127.0.0.1:5555')
    }
    this.#options = {
      connect: options.connect,
      tasksUrl,
      slots,
      heartbeatIntervalMs: options.heartbeatIntervalMs ?? 1000,
      heartbeatMisses: options.heartbeatMisses ?? 3,
      reconnectMinMs: options.reconnectMinMs ?? 100,
      reconnectMaxMs: options.reconnectMaxMs ?? 5000,
      maxMessageBytes: options.maxMessageBytes ?? 16 * 1024 * 1024,
    }
    this.#heartbeatMs = this.#options.heartbeatIntervalMs
    this.#backoff = this.#options.reconnectMinMs
    this.#codec = new MsgpackCodec({ maxMessageBytes: this.#options.maxMessageBytes })
  }

  get state(): RemoteWorkerState {
    return this.#state
  }

  /** Tasks running now. */
  get running(): number {
    return this.#runner?.running ?? 0
  }

  /**
   * Loads the tasks module, connects and resolves at the pool's welcome. Rejects with `DD_ERR_WORKER_START`
   * (module does not load) or `DD_ERR_PROTOCOL_VERSION` (the pool refused us).
   */
  async start(): Promise<void> {
    if (this.#runner !== undefined) throw new ClosedError('start() was called already')
    let mod: Record<string, unknown>
    try {
      mod = await import(this.#options.tasksUrl)
    } catch (err) {
      throw new WorkerStartError(`cannot load tasks module ${this.#options.tasksUrl}`, err)
    }
    const fns = taskFunctions(mod)
    this.#taskNames = [...fns.keys()]
    const values: ValueCodec = {
      decodeArgs: (bytes) => this.#codec.decodeValue(bytes as Uint8Array),
      encodeValue: (value) => this.#codec.encodeValue(value),
    }
    this.#runner = new TaskRunner(fns, values, (results) => this.#send({ type: 'done', results }))
    const welcomed = new Promise<void>((resolve, reject) => {
      this.#started = { resolve, reject }
    })
    this.#connect()
    this.#timer = setInterval(() => this.#beat(), Math.min(this.#heartbeatMs, this.#options.reconnectMinMs))
    return welcomed
  }

  /** Says bye (the pool re-queues what is running here), abandons running tasks and disconnects. */
  async close(): Promise<void> {
    if (this.#state === 'closed') return
    if (this.#state === 'ready') this.#send({ type: 'bye' })
    this.#state = 'closed'
    clearInterval(this.#timer)
    this.#runner?.cancelAll()
    while (this.#writing) await new Promise((r) => setImmediate(r))
    this.#dealer?.close()
    this.#dealer = undefined
    this.#started?.reject(new ClosedError('the worker was closed before the pool welcomed it'))
  }

  #connect(): void {
    this.#dealer?.close()
    this.#outbox.clear()
    // A fresh identity per connection: the pool times the old one out and re-queues its tasks, so nothing
    // the old identity ran can be confused with what the new one runs.
    const dealer = new Dealer({
      routingId: `w-${randomBytes(8).toString('hex')}`,
      linger: 1000,
      sendHighWaterMark: 100_000,
      receiveHighWaterMark: 100_000,
      reconnectInterval: this.#options.reconnectMinMs,
      reconnectMaxInterval: this.#options.reconnectMaxMs,
      maxMessageSize: this.#options.maxMessageBytes + 64,
    })
    this.#dealer = dealer
    dealer.connect(this.#options.connect)
    this.#lastSeen = Date.now()
    this.#hello()
    void this.#read(dealer)
  }

  #hello(): void {
    const slots = this.#options.slots
    this.#send({ type: 'hello', v: PROTOCOL_VERSION, slots, tasks: this.#taskNames, pid: process.pid })
  }

  #send(msg: WorkerMessage): void {
    if (this.#dealer === undefined) return
    this.#outbox.push(encodeMessage(this.#codec, msg))
    if (!this.#writing) void this.#write()
  }

  async #write(): Promise<void> {
    this.#writing = true
    while (this.#outbox.length > 0 && this.#dealer !== undefined) {
      const dealer = this.#dealer
      try {
        await dealer.send(this.#outbox.shift())
      } catch {
        // The socket was closed under us. On a reconnect, go on with the new socket's hello; else stop.
        if (dealer === this.#dealer) break
      }
    }
    this.#writing = false
  }

  async #read(dealer: Dealer): Promise<void> {
    try {
      for await (const [frame] of dealer) {
        if (dealer !== this.#dealer) return
        this.#receive(frame)
      }
    } catch {
      // closed
    }
  }

  #receive(frame: Buffer): void {
    let msg: PoolMessage
    try {
      msg = decodeMessage(this.#codec, frame) as PoolMessage
    } catch (err) {
      if (
        err instanceof DecodeError &&
        err.code === 'DD_ERR_DECODE_VERSION' &&
        this.#state === 'connecting'
      ) {
        this.#fail(new ProtocolVersionError(`the pool speaks another protocol: ${err.message}`, undefined))
      }
      return // garbage from the network is dropped, never thrown
    }
    this.#lastSeen = Date.now()
    switch (msg.type) {
      case 'welcome':
        this.#heartbeatMs = msg.heartbeatMs
        this.#backoff = this.#options.reconnectMinMs
        if (this.#state === 'connecting') {
          this.#state = 'ready'
          this.#started?.resolve()
          this.#started = undefined
        }
        break
      case 'refuse':
        this.#fail(new ProtocolVersionError(`the pool refused this worker: ${msg.message}`, PROTOCOL_VERSION))
        break
      case 'run':
        this.#runner!.run(msg.tasks)
        break
      case 'cancel':
        this.#runner!.cancel(msg.ids)
        break
      case 'bye':
        // The pool does not know us (it restarted) or is closing: give up our tasks, say hello again.
        this.#runner!.cancelAll()
        this.#state = 'connecting'
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
    if (this.#state === 'closed') return
    const now = Date.now()
    if (now - this.#lastSeen > this.#heartbeatMs * this.#options.heartbeatMisses) {
      if (now < this.#nextAttempt) return
      // The pool is lost: its side re-queues our tasks, so stop them and come back as a new worker.
      this.#runner!.cancelAll()
      this.#state = 'connecting'
      this.#nextAttempt = now + this.#backoff
      this.#backoff = Math.min(this.#backoff * 2, this.#options.reconnectMaxMs)
      this.#connect()
      return
    }
    if (this.#state === 'ready' && now - this.#lastPing >= this.#heartbeatMs) {
      this.#lastPing = now
      this.#send({ type: 'ping' })
    }
  }

  #lastPing = 0
}
