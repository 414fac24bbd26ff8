import { type Codec, DecodeError, EncodeError, type Envelope, MsgpackCodec } from '@dripdrop/codec'
import { type DripdropError, Node, type Route } from '@dripdrop/core'
import { type CurveSettings, HandshakeError, UnroutableError, zmqTransport } from '@dripdrop/zmq'
import type { Engine, Job, Link } from './engine.js'
import { REMOTE_TIMEOUT_MS } from './options.js'
import { PROTOCOL_VERSION, type PoolMessage, STATUS_ERROR } from './protocol.js'
import { fromEnvelope, toEnvelope } from './wire.js'

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

/**
 * Route options of the pool's channel, on both ends (`router` at the pool, `dealer` at a worker): one envelope
 * per ZeroMQ frame. The pool batches tasks inside its own `run`/`done` messages already, and docs/protocol.md
 * §10.1 lets a foreign peer read one envelope per frame. libzmq's queue keeps the transport's byte-derived
 * default (`socketHighWaterMark`), so what waits for one worker stays bounded in bytes.
 */
export const CHANNEL_OPTIONS = Object.freeze({ batchMaxMessages: 1 })

/** Options of a {@link RemoteListener}. */
export interface ListenerOptions {
  heartbeatIntervalMs: number
  heartbeatMisses: number
  maxMessageBytes: number
  maxWorkerConcurrency: number
  maxPeerQueueBytes: number
  /** CURVE server settings of the `router` route (`@dripdrop/zmq`). */
  curve?: CurveSettings
}

type Routing = readonly Uint8Array[]

function keyOf(peer: Routing): string {
  return Buffer.from(peer[0].buffer, peer[0].byteOffset, peer[0].byteLength).toString('hex')
}

/** One remote worker process as the pool sees it. Internal. */
class RemoteLink implements Link {
  readonly id: string
  readonly slots: number
  readonly defaultTimeoutMs = REMOTE_TIMEOUT_MS
  readonly inFlight = new Map<number, Job>()
  lastUsed = 0
  lastSeen = Date.now()
  readonly peer: Routing
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

  constructor(peer: Routing, slots: number, listener: RemoteListener, maxMessageBytes: number) {
    this.peer = peer
    this.id = `remote:${keyOf(peer)}`
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
    // A run that cannot leave (not encodable) fails its tasks; one dropped later for a peer that stopped
    // reading fails the whole link (RemoteListener.#routeError), so no task is lost silently.
    this.#listener.send(this.peer, { type: 'run', tasks }, (err) => {
      const engine = this.#listener.engine
      for (const job of jobs) if (this.inFlight.get(job.id) === job) engine.failSend(this, job, err)
    })
  }

  cancel(job: Job): void {
    this.#listener.send(this.peer, { type: 'cancel', ids: [job.id] })
  }
}

/**
 * The pool's end of the remote channel: a dripdrop `router` route (@dripdrop/zmq). Accepts remote workers
 * (hello/welcome), keeps them alive with heartbeats both ways, turns their messages into engine results.
 */
export class RemoteListener {
  readonly codec: Codec
  readonly engine: Engine
  readonly #events: ListenerEvents
  readonly #node: Node
  #route: Route | undefined
  readonly #links = new Map<string, RemoteLink>()
  readonly #heartbeatMs: number
  readonly #misses: number
  readonly #maxMessageBytes: number
  readonly #maxWorkerConcurrency: number
  readonly #maxPeerQueueBytes: number
  #closed = false
  #timer: NodeJS.Timeout | undefined
  #endpoint = ''
  readonly #curve: CurveSettings | undefined

  constructor(engine: Engine, events: ListenerEvents, options: ListenerOptions) {
    const { maxMessageBytes } = options
    this.engine = engine
    this.#events = events
    this.#heartbeatMs = options.heartbeatIntervalMs
    this.#misses = options.heartbeatMisses
    this.#maxMessageBytes = maxMessageBytes
    this.#maxWorkerConcurrency = options.maxWorkerConcurrency
    this.#maxPeerQueueBytes = options.maxPeerQueueBytes
    this.#curve = options.curve
    this.codec = new MsgpackCodec({ maxMessageBytes })
    this.#node = new Node({ name: 'worker-pool', codec: this.codec, transports: [zmqTransport()] })
    this.#node.events.on('route:error', ({ error }) => this.#routeError(error))
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
    const route = this.#node.route('pool', {
      type: 'router',
      bind: address,
      // Long enough for the byes of close() to leave, short enough not to hold a process at exit.
      lingerMs: 200,
      maxPeerQueueBytes: this.#maxPeerQueueBytes,
      ...CHANNEL_OPTIONS,
      // The route is the CURVE server; its allow-list goes to the process's ZAP handler before it binds.
      ...(this.#curve === undefined ? {} : { curve: this.#curve as never }),
    })
    route.on('*', (envelope, { from }) => this.#receive(from as Routing, envelope))
    this.#route = route
    await this.#node.start()
    this.#endpoint = route.endpoints[0] ?? address
    this.#timer = setInterval(() => this.#beat(), this.#heartbeatMs)
  }

  /**
   * Queues a message to a peer. Never throws: a message that cannot be sent (not encodable, route closed) is
   * reported as a frame error and given to `failed`.
   */
  send(peer: Routing, msg: PoolMessage, failed?: (err: unknown) => void): void {
    const route = this.#route
    if (this.#closed || route === undefined) return
    route.sendTo(peer, toEnvelope(msg)).catch((err: unknown) => {
      if (this.#closed) return
      this.#events.frameError(err)
      failed?.(err)
    })
  }

  /** Says bye to every worker and closes the route (its port is free when this resolves). */
  async close(): Promise<void> {
    if (this.#closed) return
    for (const link of this.#links.values()) this.send(link.peer, { type: 'bye' })
    this.#closed = true
    clearInterval(this.#timer)
    await this.#node.close()
  }

  // Errors of the route: undecodable frames are counted as bad frames; a peer whose messages were dropped
  // (it stopped reading past maxPeerQueueBytes) is dropped with its tasks, which run again elsewhere.
  #routeError(error: DripdropError): void {
    if (this.#closed) return
    // A peer that failed the handshake (with curve: not on the allow-list) never joined: not a frame error.
    if (error instanceof HandshakeError) {
      this.#events.refused(error)
      return
    }
    if (error instanceof DecodeError) this.engine.badFrames++
    this.#events.frameError(error)
    if (error instanceof UnroutableError && error.peer !== undefined && error.peer.length > 0) {
      const key = keyOf(error.peer)
      const link = this.#links.get(key)
      if (link !== undefined) this.#drop(key, link, error, true)
    }
  }

  #receive(peer: Routing, envelope: Envelope): void {
    let msg: ReturnType<typeof fromEnvelope>
    try {
      msg = fromEnvelope(envelope, 0)
    } catch (err) {
      this.engine.badFrames++
      this.#events.frameError(err)
      return
    }
    const key = keyOf(peer)
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
      const fresh = new RemoteLink(peer, slots, this, this.#maxMessageBytes)
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
