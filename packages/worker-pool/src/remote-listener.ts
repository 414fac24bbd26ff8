import { randomBytes } from 'node:crypto'
import { type Codec, DecodeError, EncodeError, MsgpackCodec } from '@dripdrop/codec'
import { Queue } from '@dripdrop/core/internal'
import { type CurveSettings, type CurveSocket, HandshakeError, openCurve } from '@dripdrop/zmq'
import { Router } from 'zeromq'
import type { Engine, Job, Link } from './engine.js'
import { REMOTE_TIMEOUT_MS } from './options.js'
import { PROTOCOL_VERSION, type PoolMessage, STATUS_ERROR } from './protocol.js'
import { decodeMessage, encodeMessage } from './wire.js'

/** What the listener tells its owner. */
export interface ListenerEvents {
  up(id: string): void
  down(id: string, cause: unknown): void
  frameError(err: unknown): void
  /** A peer failed the ZMTP/CURVE handshake (not on the allow-list, no or wrong keys): it never joined. */
  refused(err: HandshakeError): void
}

/**
 * Bytes a `run` or `done` envelope takes besides its tasks: `[1, name, {v: 1}, [` with the longest array header.
 * Kept generous; see docs/protocol.md §10.2.
 */
export const ENVELOPE_OVERHEAD = 32

/** Bytes one task takes in a `run` batch besides its args: id (<= 9), name (str header <= 5 + UTF-8), bin header (<= 5). */
export function runEntryBytes(name: string, argsBytes: number): number {
  return 19 + name.length * 3 + argsBytes
}

/** Options of a {@link RemoteListener}. */
export interface ListenerOptions {
  heartbeatIntervalMs: number
  heartbeatMisses: number
  maxMessageBytes: number
  maxWorkerConcurrency: number
  /** CURVE server settings of the listening socket (`@dripdrop/zmq`). */
  curve?: CurveSettings
}

/** One remote worker process as the pool sees it. Internal. */
class RemoteLink implements Link {
  readonly id: string
  readonly slots: number
  readonly defaultTimeoutMs = REMOTE_TIMEOUT_MS
  readonly inFlight = new Map<number, Job>()
  lastUsed = 0
  lastSeen = Date.now()
  readonly peer: Buffer
  readonly #listener: RemoteListener
  readonly #budget: number
  #out: unknown[] = []
  #outJobs: Job[] = []
  #outBytes = 0
  // True from a `run` sent by an idle link until the end of the event-loop turn: a lone task leaves at once,
  // and what is dispatched later in the same turn (results arriving one by one free credit one by one) leaves
  // together at the end of it, instead of as many small frames.
  #sentThisTurn = false
  readonly #endTurn = (): void => {
    this.#sentThisTurn = false
    this.#send()
  }

  constructor(peer: Buffer, slots: number, listener: RemoteListener, maxMessageBytes: number) {
    this.peer = peer
    this.id = `remote:${peer.toString('hex')}`
    this.slots = slots
    this.#listener = listener
    this.#budget = maxMessageBytes - ENVELOPE_OVERHEAD
  }

  push(job: Job): void {
    // Throws EncodeError: the engine fails this one task.
    const args = this.#listener.codec.encodeValue(job.args)
    const size = runEntryBytes(job.name, args.byteLength)
    if (size > this.#budget) {
      throw new EncodeError(
        `args of task ${job.name} encode to ${args.byteLength} bytes: over maxMessageBytes (${this.#budget + ENVELOPE_OVERHEAD}) with the frame's overhead`,
        'DD_ERR_ENCODE_TOO_LARGE',
      )
    }
    // Cut the batch so that no frame exceeds maxMessageBytes.
    if (this.#outBytes + size > this.#budget) this.#send()
    this.#out.push(job.id, job.name, args)
    this.#outJobs.push(job)
    this.#outBytes += size
  }

  flush(): void {
    if (this.#sentThisTurn) return // #endTurn sends it
    this.#sentThisTurn = true
    setImmediate(this.#endTurn)
    this.#send()
  }

  #send(): void {
    if (this.#outJobs.length === 0) return
    const tasks = this.#out
    const jobs = this.#outJobs
    this.#out = []
    this.#outJobs = []
    this.#outBytes = 0
    const err = this.#listener.send(this.peer, { type: 'run', tasks })
    if (err !== undefined) for (const job of jobs) this.#listener.engine.failSend(this, job, err)
  }

  cancel(job: Job): void {
    this.#listener.send(this.peer, { type: 'cancel', ids: [job.id] })
  }
}

/**
 * The pool's ZeroMQ ROUTER socket: accepts remote workers (hello/welcome), keeps them alive with heartbeats both
 * ways, turns their frames into engine results. Raw zeromq v6 sockets, see the package README for why.
 */
export class RemoteListener {
  readonly codec: Codec
  readonly engine: Engine
  readonly #events: ListenerEvents
  readonly #router: Router
  readonly #links = new Map<string, RemoteLink>()
  readonly #outbox = new Queue<[Buffer, Uint8Array]>()
  readonly #heartbeatMs: number
  readonly #misses: number
  readonly #maxMessageBytes: number
  readonly #maxWorkerConcurrency: number
  #writing = false
  #closed = false
  #timer: NodeJS.Timeout | undefined
  #endpoint = ''
  readonly #curveSettings: CurveSettings | undefined
  #curve: CurveSocket | undefined

  constructor(engine: Engine, events: ListenerEvents, options: ListenerOptions) {
    const { maxMessageBytes } = options
    this.engine = engine
    this.#events = events
    this.#heartbeatMs = options.heartbeatIntervalMs
    this.#misses = options.heartbeatMisses
    this.#maxMessageBytes = maxMessageBytes
    this.#maxWorkerConcurrency = options.maxWorkerConcurrency
    this.#curveSettings = options.curve
    this.codec = new MsgpackCodec({ maxMessageBytes })
    this.#router = new Router({
      routingId: `pool-${randomBytes(6).toString('hex')}`,
      // Long enough for the byes of close() to leave, short enough not to hold a process at exit.
      linger: 200,
      sendHighWaterMark: 100_000,
      receiveHighWaterMark: 100_000,
      maxMessageSize: maxMessageBytes + 64,
    })
  }

  /** The bound address, with the OS-assigned port filled in. */
  get endpoint(): string {
    return this.#endpoint
  }

  /** Remote workers connected now. */
  get size(): number {
    return this.#links.size
  }

  async bind(address: string): Promise<void> {
    const settings = this.#curveSettings
    if (settings !== undefined) {
      // The allow-list is registered with the process's ZAP handler before the socket can accept anyone.
      const curve = await openCurve(settings, 'server', 'pool')
      this.#curve = curve
      Object.assign(this.#router, curve.options)
      const refused = (reason: 'auth' | 'protocol' | 'other') => (e: { address: string; error: Error }) => {
        const r = reason === 'auth' ? curve.refusal() : undefined
        const detail =
          r === undefined
            ? e.error.message
            : `${r.reason} (client key ${r.clientKey ?? 'none'} from ${r.address})`
        this.#events.refused(
          new HandshakeError(
            `worker handshake on ${e.address} refused (${reason}): ${detail}`,
            e.address,
            e.error,
            reason,
            r?.clientKey,
          ),
        )
      }
      this.#router.events.on('handshake:error:auth', refused('auth'))
      this.#router.events.on('handshake:error:protocol', refused('protocol'))
      this.#router.events.on('handshake:error:other', refused('other'))
    }
    await this.#router.bind(address)
    this.#endpoint = this.#router.lastEndpoint ?? address
    this.#timer = setInterval(() => this.#beat(), this.#heartbeatMs)
    void this.#read()
  }

  /**
   * Queues a message to a peer; one send is in flight at a time (zeromq v6 allows no more). Returns the
   * `EncodeError` when the message cannot be encoded (nothing is sent then), never throws.
   */
  send(peer: Buffer, msg: PoolMessage): EncodeError | undefined {
    if (this.#closed) return undefined
    let frame: Uint8Array
    try {
      frame = encodeMessage(this.codec, msg)
    } catch (err) {
      this.#events.frameError(err)
      return err instanceof EncodeError
        ? err
        : new EncodeError(String(err), 'DD_ERR_ENCODE_INVALID', { cause: err })
    }
    this.#outbox.push([peer, frame])
    if (!this.#writing) void this.#write()
    return undefined
  }

  /** Says bye to every worker and closes the socket. */
  async close(): Promise<void> {
    if (this.#closed) return
    for (const link of this.#links.values()) this.send(link.peer, { type: 'bye' })
    // Let the byes leave before the socket goes.
    while (this.#writing) await new Promise((r) => setImmediate(r))
    this.#closed = true
    clearInterval(this.#timer)
    // Wait for the listening socket's `close` event: the port is freed a little after close() returns, and a
    // pool restarted on the same address would find it in use. (Not unbind(): unbinding with workers connected
    // trips a libzmq 4.3.5 assertion in pipe.cpp that aborts the process.)
    let timer: NodeJS.Timeout | undefined
    const released = new Promise<void>((resolve) => {
      this.#router.events.on('close', () => resolve())
      timer = setTimeout(resolve, 1000)
    })
    this.#router.close()
    await released
    clearTimeout(timer)
    await this.#curve?.release()
  }

  async #write(): Promise<void> {
    this.#writing = true
    while (this.#outbox.length > 0 && !this.#closed) {
      try {
        await this.#router.send(this.#outbox.shift())
      } catch (err) {
        if (!this.#closed) this.#events.frameError(err)
      }
    }
    this.#writing = false
  }

  async #read(): Promise<void> {
    try {
      for await (const [peer, frame] of this.#router) {
        try {
          this.#receive(peer, frame)
        } catch (err) {
          // Nothing from the network may end the read loop, nor escape it.
          this.engine.badFrames++
          this.#events.frameError(err)
        }
      }
    } catch (err) {
      if (!this.#closed) this.#events.frameError(err)
    }
  }

  #receive(peer: Buffer, frame: Buffer | undefined): void {
    let msg: ReturnType<typeof decodeMessage>
    try {
      if (frame === undefined) throw new DecodeError('empty message', 'DD_ERR_DECODE_TRUNCATED', 0)
      msg = decodeMessage(this.codec, frame)
    } catch (err) {
      this.engine.badFrames++
      this.#events.frameError(err)
      return
    }
    const key = peer.toString('hex')
    const link = this.#links.get(key)
    if (msg.type === 'hello') {
      if (msg.v !== PROTOCOL_VERSION) {
        this.engine.badFrames++
        const message = `worker speaks protocol version ${msg.v}, this pool speaks ${PROTOCOL_VERSION}`
        this.send(peer, { type: 'refuse', v: PROTOCOL_VERSION, code: 'DD_ERR_PROTOCOL_VERSION', message })
        return
      }
      this.send(peer, { type: 'welcome', v: PROTOCOL_VERSION, heartbeatMs: this.#heartbeatMs })
      if (link !== undefined) return // a repeated hello: already in
      const slots = Math.min(msg.slots, this.#maxWorkerConcurrency)
      const fresh = new RemoteLink(Buffer.from(peer), slots, this, this.#maxMessageBytes)
      this.#links.set(key, fresh)
      this.engine.addLink(fresh)
      this.#events.up(fresh.id)
      return
    }
    if (link === undefined) {
      // A worker of a previous pool on this address: make it say hello again.
      this.engine.badFrames++
      if (msg.type !== 'bye') this.send(peer, { type: 'bye' })
      return
    }
    link.lastSeen = Date.now()
    if (msg.type === 'done') this.#results(link, msg.results)
    else if (msg.type === 'bye') this.#drop(key, link, new Error(`${link.id} left`), false)
  }

  #results(link: RemoteLink, r: unknown[]): void {
    for (let i = 0; i < r.length; i += 3) {
      let status = r[i + 1] as number
      let value: unknown
      try {
        value = this.codec.decodeValue(r[i + 2] as Uint8Array)
      } catch (err) {
        status = STATUS_ERROR
        value = err
      }
      this.engine.result(link, r[i] as number, status, value)
    }
  }

  #drop(key: string, link: RemoteLink, cause: unknown, charge: boolean): void {
    this.#links.delete(key)
    this.engine.removeLink(link, cause, charge)
    this.#events.down(link.id, cause)
  }

  #beat(): void {
    const now = Date.now()
    const deadAfter = this.#heartbeatMs * this.#misses
    for (const [key, link] of this.#links) {
      if (now - link.lastSeen > deadAfter) {
        this.#drop(key, link, new Error(`${link.id} missed ${this.#misses} heartbeats`), true)
      } else this.send(link.peer, { type: 'ping' })
    }
  }
}
