import type { Codec, Envelope } from '@dripdrop/codec'
import { toErrorBody } from '@dripdrop/core'
import type * as zmq from 'zeromq'
import type { RouteHost, RouteSocket, RouteSpec } from '@dripdrop/core'
import { ClosedError, DestroyedError, PeerQueueFullError, TransportError, UnroutableError } from './errors.js'
import { nextZapDomain } from './curve/curve-socket.js'
import { zapHandler } from './curve/zap-handler.js'
import type { FilledZmqOptions } from './options.js'
import { InboundLedger } from './inbound-ledger.js'
import { Outbox } from './outbox.js'
import { ParkedReplies, peerKey } from './parked-replies.js'
import { bindError, countEnvelopes, isRouting, sameRouting } from './routing.js'
import { releaseSocket } from './socket-release.js'
import { type Lane, Spreader } from './spreader.js'
import { asDripdropError, readLoop } from './reader.js'
import { forwardEvents } from './socket-events.js'
import {
  BLOCKS_WHEN_FULL,
  type CurveRole,
  createSocket,
  LAYOUTS,
  RECEIVES,
  type Routing,
  SENDS,
  type WireLayout,
  type ZmqSocket,
} from './wire.js'

type State = 'idle' | 'starting' | 'open' | 'closing' | 'closed'

const TOPIC_CACHE_MAX = 1024
// Sends in a row before the writer yields a macrotask: with a zero send timeout zeromq.js resolves every send
// at once and no longer does this itself (it yields after 512 synchronous operations).
const MAX_SENDS_WITHOUT_YIELD = 512

/**
 * One route's ZeroMQ socket. Sending: a bounded {@link Outbox} drained by a single writer loop, which sends a
 * lone envelope at once and coalesces whatever queued up meanwhile into one batch frame. Receiving: one reader
 * loop that decodes each frame and waits whenever the route pushes back.
 */
export class ZmqRouteSocket implements RouteSocket {
  readonly endpoints: string[] = []
  readonly #spec: RouteSpec
  readonly #host: RouteHost
  readonly #options: FilledZmqOptions
  readonly #codec: Codec
  readonly #layout: WireLayout
  readonly #outbox: Outbox
  #socket: ZmqSocket | undefined
  #state: State = 'idle'
  #writing = false
  // True from a send made by an idle socket until the end of the event-loop turn (one setImmediate).
  #sentThisTurn = false
  // Batch size in envelopes: halves when a batch overshoots batchMaxBytes, grows back when well under.
  #batchLimit: number
  #writerIdle: (() => void) | undefined
  #readerDone: Promise<void> | undefined
  #started: Promise<void> | undefined
  #closed: Promise<void> | undefined
  // Endpoints this socket really bound: unbound one by one on close so their ports are free when it resolves.
  readonly #bound: string[] = []
  readonly #topics = new Map<string, Buffer>()
  // ROUTER only: the byte budget of requests in the handlers, and replies waiting for a full pipe.
  readonly #ledger: InboundLedger | undefined
  readonly #parked: ParkedReplies | undefined
  #retryDue = false
  #retryTimer: NodeJS.Timeout | undefined
  // Every libzmq socket of the route: one, or one per lane when it spreads over several connect addresses.
  readonly #sockets: ZmqSocket[] = []
  // req/dealer/push connected to several addresses: one socket per address, the lane chosen per envelope.
  #spreader: Spreader | undefined
  // Batches already encoded for other lanes in the same writer pass, sent before taking more.
  readonly #ready: { socket: ZmqSocket; parts: Uint8Array[] }[] = []
  // Where the parts #take() returned go.
  #target: ZmqSocket | undefined
  // Live connections of the (non-spreading) socket: a PUSH/DEALER with several cuts a burst into one batch
  // per peer (libzmq round robin); connected() waits on it.
  #peers = 0
  readonly #peerWaiters = new Set<() => void>()
  #cutSize = 0
  #cutLeft = 0
  #whenUp: (() => void) | undefined
  // A spreading req/dealer route: replies take their request out of its lane's count before the route sees them.
  readonly #replyWatcher: RouteHost
  // CURVE: the sockets' role; a server with an allow-list holds its ZAP domain while it runs.
  readonly #curve: CurveRole | undefined
  #zapDomain: string | undefined

  constructor(spec: RouteSpec, host: RouteHost, options: FilledZmqOptions) {
    this.#spec = spec
    this.#host = host
    this.#options = options
    this.#codec = spec.codec
    this.#layout = LAYOUTS[spec.type]
    this.#outbox = new Outbox(spec.highWaterMark, options.maxQueueBytes)
    this.#batchLimit = options.batchMaxMessages
    this.#replyWatcher = {
      route: host.route,
      stats: host.stats,
      receive: (envelope, from) => {
        const re = envelope.head.$re
        if (re !== undefined) this.#spreader!.answered(re)
        return host.receive(envelope, from)
      },
      emit: (event) => host.emit(event),
    }
    const curve = options.curve
    if (curve !== undefined)
      this.#curve =
        spec.bind.length > 0
          ? { server: true, zapDomain: curve.zapDomain ?? nextZapDomain(spec.name) }
          : { server: false }
    if (this.#layout.socket === 'ROUTER') {
      this.#ledger = new InboundLedger(options.maxQueueBytes, options.maxPeerQueueBytes)
      this.#parked = new ParkedReplies(options.maxPeerQueueBytes)
    }
  }

  start(): Promise<void> {
    this.#started ??= this.#start()
    return this.#started
  }

  async #start(): Promise<void> {
    if (this.#state !== 'idle')
      throw new ClosedError(`zmq socket of route "${this.#spec.name}" is ${this.#state}`)
    this.#state = 'starting'
    const spec = this.#spec
    const spreads = BLOCKS_WHEN_FULL.has(this.#layout.socket) && spec.connect.length > 1
    if (spreads) this.#spreader = new Spreader(2 * ((spec.options.timeoutMs as number | undefined) ?? 10_000))
    const curve = this.#curve
    const allow = this.#options.curve?.allow
    if (curve?.server && allow !== undefined) {
      // The allow-list is in place before the socket can accept anyone.
      try {
        await zapHandler.acquire(curve.zapDomain, allow, this.#options.curve!.source)
      } catch (err) {
        this.#state = 'closed'
        throw new TransportError(`route "${spec.name}": ${(err as Error).message}`, err)
      }
      this.#zapDomain = curve.zapDomain
      if (this.#state !== 'starting') {
        await this.#releaseZap()
        throw new DestroyedError(`route "${spec.name}" was destroyed while starting`)
      }
    }
    const socket = this.#open(spreads ? 'bind' : undefined)
    this.#socket = socket
    try {
      for (const address of spec.bind) {
        await socket.bind(address)
        const endpoint = socket.lastEndpoint ?? address
        this.#bound.push(endpoint)
        this.endpoints.push(endpoint)
        // destroy() while a bind was in progress: it could not close a socket busy binding, so do it here,
        // or the bound port would keep accepting (and keep the process alive) after the node reports closed.
        if (this.#state !== 'starting') break
        this.#host.emit({ type: 'listening', endpoint })
      }
      if (this.#state === 'starting') {
        for (const address of spec.connect) {
          // Spreading: the first address shares the bind socket only when there is no bind.
          const lane = spreads && (spec.bind.length > 0 || address !== spec.connect[0])
          ;(lane ? this.#open(address) : socket).connect(address)
          if (spreads && !lane) this.#spreader!.lanes[0].address = address
          this.endpoints.push(address)
        }
      }
    } catch (err) {
      this.#state = 'closed'
      await this.#releaseAll(0)
      await this.#releaseZap()
      throw bindError(spec.name, err)
    }
    if (this.#state !== 'starting') {
      await this.#releaseAll(0)
      await this.#releaseZap()
      throw new DestroyedError(`route "${spec.name}" was destroyed while starting`)
    }
    if (this.#layout.socket === 'SUB') for (const p of this.#spec.subscribe) this.subscribe(p)
    this.#state = 'open'
    if (RECEIVES.has(this.#spec.type)) {
      const readers = this.#sockets.map((sock) => this.#read(sock))
      this.#readerDone = readers.length === 1 ? readers[0] : Promise.all(readers).then(() => {})
    }
  }

  // Creates one libzmq socket of the route; with `lane`, a lane of a spreading route that tracks its peers.
  #open(lane: string | undefined): ZmqSocket {
    const socket = createSocket(this.#spec.type, this.#options, this.#codec.maxMessageBytes, this.#curve)
    this.#sockets.push(socket)
    const domain = this.#zapDomain
    forwardEvents(socket, this.#host, domain === undefined ? undefined : () => zapHandler.takeRefusal(domain))
    if (lane !== undefined) {
      const spreader = this.#spreader!
      const entry: Lane = { socket, address: lane, peers: 0, inflight: 0, serviceMs: 0 }
      spreader.lanes.push(entry)
      const up = () => {
        entry.peers++
        this.#whenUp?.()
        for (const w of this.#peerWaiters) w()
      }
      socket.events.on('connect', up)
      socket.events.on('accept', up)
      socket.events.on('disconnect', () => {
        entry.peers = Math.max(0, entry.peers - 1)
        if (entry.peers === 0) spreader.down(entry)
      })
    } else {
      const up = () => {
        this.#peers++
        for (const w of this.#peerWaiters) w()
      }
      socket.events.on('connect', up)
      socket.events.on('accept', up)
      socket.events.on('disconnect', () => {
        this.#peers = Math.max(0, this.#peers - 1)
      })
    }
    return socket
  }

  /**
   * Connects to one more address at run time (`route.connect()`). A route that spreads (a `req`, `dealer` or
   * `push` started with several connect addresses) gets a new lane, a socket of its own; any other route's
   * socket connects there too (libzmq then round-robins over its peers).
   */
  connect(address: string): void {
    if (this.#state !== 'open')
      throw new ClosedError(`zmq socket of route "${this.#spec.name}" is ${this.#state}`)
    if (this.#spreader === undefined) {
      this.#socket!.connect(address)
    } else {
      const socket = this.#open(address)
      socket.connect(address)
      if (RECEIVES.has(this.#spec.type)) {
        const reader = this.#read(socket)
        const before = this.#readerDone
        this.#readerDone = Promise.all([before, reader]).then(() => {})
      }
    }
    this.endpoints.push(address)
  }

  /**
   * Disconnects from an address at run time (`route.disconnect()`). On a spreading route its lane is
   * removed and its socket closed: envelopes in that lane's pipe are lost with the peer; requests in flight
   * there end by their timeout.
   */
  disconnect(address: string): void {
    if (this.#state !== 'open')
      throw new ClosedError(`zmq socket of route "${this.#spec.name}" is ${this.#state}`)
    const at = this.endpoints.indexOf(address)
    if (at < 0 || this.#bound.includes(address)) return
    this.endpoints.splice(at, 1)
    const spreader = this.#spreader
    const lane = spreader?.lanes.find((l) => l.address === address)
    if (spreader === undefined || lane === undefined) {
      try {
        this.#socket!.disconnect(address)
      } catch {} // ENOENT: never connected (the endpoint string differs); nothing to undo
      return
    }
    spreader.lanes.splice(spreader.lanes.indexOf(lane), 1)
    spreader.down(lane)
    if (lane.socket === this.#socket) {
      // The lane shares the route's first socket: disconnect it, keep the socket.
      try {
        this.#socket!.disconnect(address)
      } catch {}
    } else {
      this.#sockets.splice(this.#sockets.indexOf(lane.socket), 1)
      lane.socket.linger = 0
      lane.socket.close()
    }
    // The writer may have stopped on the closed lane with envelopes still queued: start it again.
    if (!this.#writing && this.#outbox.envelopes.length > 0) {
      this.#writing = true
      void this.#write(undefined)
    }
  }

  #read(sock: ZmqSocket): Promise<void> {
    return readLoop(sock as zmq.Pull, {
      host: this.#spreader === undefined ? this.#host : this.#replyWatcher,
      codec: this.#codec,
      route: this.#spec.name,
      routed: this.#layout.socket === 'ROUTER',
      isOpen: () => this.#state === 'open',
      ledger: this.#ledger,
      refuse: (envelope, from, bytes) => this.#refuse(envelope, from, bytes),
    })
  }

  /** Live connections to peers now (accepted and connected; a spreading route sums its lanes). */
  get peers(): number {
    if (this.#spreader === undefined) return this.#peers
    let n = 0
    for (const lane of this.#spreader.lanes) n += lane.peers
    return n
  }

  /** Resolves once at least `peers` connections are up; rejects with the signal's reason when it aborts. */
  connected(peers: number, signal?: AbortSignal): Promise<void> {
    if (this.peers >= peers) return Promise.resolve()
    return new Promise<void>((resolve, reject) => {
      const check = () => {
        if (this.peers < peers) return
        done()
        resolve()
      }
      const abort = () => {
        done()
        reject(signal!.reason)
      }
      const done = () => {
        this.#peerWaiters.delete(check)
        signal?.removeEventListener('abort', abort)
      }
      this.#peerWaiters.add(check)
      if (signal?.aborted) abort()
      else signal?.addEventListener('abort', abort, { once: true })
    })
  }

  // ---- sending ----

  send(envelope: Envelope): void | Promise<void> {
    if (!SENDS.has(this.#spec.type)) throw new TypeError(`a ${this.#spec.type} route does not send`)
    return this.#enqueue(envelope, undefined)
  }

  sendTo(to: unknown, envelope: Envelope): void | Promise<void> {
    if (this.#layout.socket !== 'ROUTER')
      throw new TypeError(`a ${this.#spec.type} route cannot sendTo: use a rep or router route`)
    if (!isRouting(to)) throw new TypeError('sendTo needs the `from` a received message gave (routing parts)')
    const re = envelope.head.$re
    if (re !== undefined) this.#ledger?.release(peerKey(to[0]), re)
    return this.#enqueue(envelope, to)
  }

  subscribe(prefix: string): void {
    if (this.#layout.socket !== 'SUB') throw new TypeError(`a ${this.#spec.type} route cannot subscribe`)
    ;(this.#socket as zmq.Subscriber).subscribe(prefix)
  }

  unsubscribe(prefix: string): void {
    if (this.#layout.socket !== 'SUB') throw new TypeError(`a ${this.#spec.type} route cannot unsubscribe`)
    ;(this.#socket as zmq.Subscriber).unsubscribe(prefix)
  }

  // A request from a peer over its byte budget: answered at once with DD_ERR_PEER_QUEUE_FULL, counted.
  #refuse(envelope: Envelope, from: Routing, bytes: number): void {
    const route = this.#spec.name
    const error = new PeerQueueFullError(
      `route "${route}": a peer holds maxPeerQueueBytes (${this.#options.maxPeerQueueBytes}) of unanswered requests; a request of ${bytes} bytes was refused`,
    )
    this.#host.stats.dropped++
    this.#host.emit({ type: 'error', error })
    if (this.#state !== 'open') return
    const head = { $re: envelope.head.$id as number, $err: true }
    void Promise.resolve(
      this.#enqueue({ name: envelope.name, head, body: toErrorBody(error, false) }, from),
    ).catch(() => {})
  }

  #enqueue(envelope: Envelope, to: Routing | undefined): void | Promise<void> {
    if (this.#state !== 'open')
      return Promise.reject(new ClosedError(`zmq socket of route "${this.#spec.name}" is ${this.#state}`))
    const outbox = this.#outbox
    if (!outbox.hasRoom()) return outbox.wait(envelope, to)
    outbox.push(envelope, to)
    if (this.#writing) return
    this.#writing = true
    if (this.#sentThisTurn || (this.#spreader !== undefined && !this.#spreader.anyUp)) {
      // A second envelope in the same event-loop turn: a burst. The writer waits for the end of the turn and
      // sends everything queued by then as one batch.
      void this.#write(undefined)
      return
    }
    // Idle: send this one at once (no timer, no added latency). A bad envelope throws to the caller here.
    let parts: Uint8Array[]
    try {
      parts = this.#take()
    } catch (err) {
      this.#writing = false
      outbox.clear(err as Error)
      throw err
    }
    this.#sentThisTurn = true
    // setImmediate, not process.nextTick: ending the turn at the end of the microtask queue instead saved
    // nothing measurable at concurrency 1 and cost 10-20% at concurrency 10 (smaller batches; README).
    setImmediate(this.#newTurn)
    void this.#write(parts)
  }

  readonly #newTurn = (): void => {
    this.#sentThisTurn = false
  }

  // The single writer of this socket: zeromq.js allows one send in progress per socket, so everything queued
  // while a send runs goes out in the next one, as a batch.
  async #write(parts: Uint8Array[] | undefined): Promise<void> {
    const outbox = this.#outbox
    let unyielded = 0
    try {
      for (;;) {
        if (parts !== undefined && parts.length > 0) {
          const socket = this.#target as zmq.Push
          const parked = this.#parked
          if (parked !== undefined && parked.size > 0 && parked.has(peerKey(parts[0]))) this.#park(parts)
          else {
            try {
              await socket.send(parts)
            } catch (err) {
              if (parked !== undefined && (err as { code?: string }).code === 'EAGAIN' && !socket.closed)
                this.#park(parts)
              else if (!(await this.#sendWhenRoom(err, parts, socket))) this.#sendFailed(err, parts)
              if (socket.closed) return
            }
          }
        }
        if (this.#retryDue) {
          this.#retryDue = false
          const socket = this.#socket as zmq.Router
          await this.#parked!.retry(socket, (p, err) => this.#sendFailed(err, p))
          if (socket.closed) return
          if (this.#parked!.size > 0) this.#scheduleRetry()
        }
        const ready = this.#ready.shift()
        if (ready !== undefined) {
          // Another lane's batch from the same pass.
          this.#target = ready.socket
          parts = ready.parts
          continue
        }
        if (outbox.envelopes.length === 0 && parts !== undefined) return
        if (outbox.envelopes.length < this.#batchLimit || ++unyielded >= MAX_SENDS_WITHOUT_YIELD) {
          unyielded = 0
          // zeromq.js resolves a send that fit in the pipe at once, so a producer awaiting each send would
          // alternate with this loop one microtask at a time and every envelope would cost a ZeroMQ send of
          // its own (measured: 3 us each, a third of the batched rate). Short of a full batch, yield one
          // macrotask turn instead: what the producer queues meanwhile leaves as one batch. A lone message
          // never waits for this: an idle socket sends it at once (see #enqueue), and a writer that finds
          // nothing queued goes idle without yielding.
          await new Promise<void>(setImmediate as (cb: () => void) => void)
          outbox.refill()
          if (outbox.envelopes.length === 0 || this.#state === 'closed') return
        }
        if (this.#spreader !== undefined && !this.#spreader.anyUp) {
          // No lane connected yet: wait for one rather than block on a lane that may never come up.
          await new Promise<void>((resolve) => {
            this.#whenUp = () => {
              this.#whenUp = undefined
              resolve()
            }
          })
          if (this.#state === 'closed') return
        }
        parts = this.#takeSafely()
      }
    } finally {
      this.#writing = false
      this.#writerIdle?.()
    }
  }

  // A reply the peer's pipe has no room for: kept in order within the peer's byte budget and retried soon;
  // past the budget the peer is taken as not reading and the reply is dropped and counted.
  #park(parts: Uint8Array[]): void {
    if (!this.#parked!.park(peerKey(parts[0]), parts)) {
      this.#sendFailed(Object.assign(new Error('peer pipe full'), { code: 'EAGAIN' }), parts)
      return
    }
    this.#scheduleRetry()
  }

  #scheduleRetry(): void {
    if (this.#retryTimer !== undefined || this.#state !== 'open') return
    this.#retryTimer = setTimeout(this.#retry, 2)
  }

  readonly #retry = (): void => {
    this.#retryTimer = undefined
    this.#retryDue = true
    if (this.#writing || this.#state !== 'open') return
    this.#writing = true
    void this.#write(undefined)
  }

  // PUSH and DEALER send with a zero timeout (see wire.ts); an EAGAIN means no peer yet or a full pipe, so wait
  // for room as a blocking send would. True when handled here (sent, or the retry's own failure reported);
  // false when `err` stands and the caller reports it.
  async #sendWhenRoom(err: unknown, parts: Uint8Array[], socket: zmq.Push): Promise<boolean> {
    if ((err as { code?: string }).code !== 'EAGAIN' || !BLOCKS_WHEN_FULL.has(this.#layout.socket))
      return false
    if (socket.closed) return false
    // A spreading route tries the other connected lanes (libzmq's own PUSH/DEALER skips a full pipe the same
    // way). When every lane is full it waits for room on any of them, never on one alone: a lane whose peer
    // vanished without a reset (a host unplugged) has a pipe that never drains, and a writer blocked on it
    // would stall every lane until the connection times out or the lane is removed (route.disconnect()).
    if (this.#spreader !== undefined) return this.#sendOnAnyLane(err, parts, socket)
    socket.sendTimeout = -1
    try {
      await socket.send(parts)
      return true
    } catch (again) {
      this.#sendFailed(again, parts)
      return true
    } finally {
      if (!socket.closed) socket.sendTimeout = 0
    }
  }

  async #sendOnAnyLane(err: unknown, parts: Uint8Array[], first: zmq.Push): Promise<boolean> {
    const spreader = this.#spreader!
    let waitMs = 1
    for (;;) {
      for (const lane of spreader.lanes) {
        const socket = lane.socket as zmq.Push
        if ((socket === first && waitMs === 1) || lane.peers === 0 || socket.closed) continue
        try {
          await socket.send(parts)
          return true
        } catch {}
      }
      if (this.#state !== 'open') {
        this.#sendFailed(err, parts)
        return true
      }
      // Every lane full (or none up): wait a little for room anywhere, up to 50 ms between tries.
      await new Promise((resolve) => setTimeout(resolve, waitMs))
      waitMs = Math.min(50, waitMs * 2)
    }
  }

  #takeSafely(): Uint8Array[] | undefined {
    try {
      return this.#take()
    } catch (err) {
      // Only one envelope was taken (batches fall back to singles on error): it cannot be encoded.
      this.#host.stats.dropped++
      this.#host.emit({ type: 'error', error: asDripdropError(err, this.#spec.name) })
      return undefined
    }
  }

  /**
   * Takes the next ZeroMQ message out of the outbox: one envelope, or a batch of consecutive envelopes that
   * share the same routing (PUB: topic, ROUTER: peer), bounded by count and bytes.
   */
  #take(): Uint8Array[] {
    this.#target = this.#socket
    if (this.#spreader !== undefined) return this.#takeSpread()
    const { envelopes, targets } = this.#outbox
    const first = envelopes.peek()!
    const firstTo = targets.peek()
    let n = Math.min(this.#batchLimit, envelopes.length)
    // A bound PUSH/DEALER with several peers: libzmq round-robins whole frames, so a burst is cut into one
    // batch per peer and the round robin stays per envelope.
    if (n > 1 && this.#peers > 1 && BLOCKS_WHEN_FULL.has(this.#layout.socket)) {
      // One round: `peers` frames of an equal share of what is queued at its start.
      if (this.#cutLeft <= 0) {
        this.#cutSize = Math.ceil(envelopes.length / this.#peers)
        this.#cutLeft = this.#peers
      }
      this.#cutLeft--
      n = Math.min(n, this.#cutSize)
    }
    if (n > 1 && this.#layout.socket === 'PUB') n = this.#sameName(first.name, n)
    else if (n > 1 && firstTo !== undefined) n = this.#sameTarget(n)
    const stats = this.#host.stats
    let frame: Uint8Array
    let count = n
    if (n === 1) {
      frame = this.#codec.encode(first)
      this.#outbox.take()
    } else {
      const batch = new Array<Envelope>(n)
      for (let i = 0; i < n; i++) batch[i] = this.#outbox.take()
      const encoded = this.#encodeBatch(batch)
      frame = encoded.frame
      count = encoded.count
      if (count > 1) stats.batchesOut++
    }
    stats.bytesOut += frame.byteLength
    this.#outbox.refill()
    if (firstTo !== undefined) return [...firstTo, frame]
    if (this.#layout.socket === 'PUB') return [this.#topic(first.name), frame]
    return [frame]
  }

  /**
   * A spreading route's take: up to a batch of envelopes, each given its lane by the {@link Spreader}; one
   * frame per lane. Returns the first lane's frame (and sets #target); the others wait in #ready.
   */
  #takeSpread(): Uint8Array[] {
    const { envelopes } = this.#outbox
    const spreader = this.#spreader!
    const n = Math.min(this.#batchLimit, envelopes.length)
    const groups = new Map<Lane, Envelope[]>()
    for (let i = 0; i < n; i++) {
      const e = this.#outbox.take()
      const lane = spreader.pick(e)
      const group = groups.get(lane)
      if (group === undefined) groups.set(lane, [e])
      else group.push(e)
    }
    const stats = this.#host.stats
    for (const [lane, group] of groups) {
      let frame: Uint8Array
      if (group.length === 1) {
        if (n === 1)
          frame = this.#codec.encode(group[0]) // a lone envelope's error goes to its sender
        else {
          try {
            frame = this.#codec.encode(group[0])
          } catch (err) {
            stats.dropped++
            this.#host.emit({ type: 'error', error: asDripdropError(err, this.#spec.name) })
            continue
          }
        }
      } else {
        const encoded = this.#encodeBatch(group)
        frame = encoded.frame
        if (encoded.count > 1) stats.batchesOut++
      }
      stats.bytesOut += frame.byteLength
      this.#ready.push({ socket: lane.socket, parts: [frame] })
    }
    this.#outbox.refill()
    const first = this.#ready.shift()
    if (first === undefined) return [] // every envelope failed to encode: each was reported above
    this.#target = first.socket
    return first.parts
  }

  // A PUB batch carries one topic, so it only groups consecutive envelopes of the same name.
  #sameName(name: string, n: number): number {
    let i = 0
    for (const e of this.#outbox.envelopes) {
      if (i >= n || e.name !== name) break
      i++
    }
    return i
  }

  #sameTarget(n: number): number {
    const targets = this.#outbox.targets
    let first: Routing | undefined
    let i = 0
    for (const t of targets) {
      if (i === 0) first = t
      else if (i >= n || !sameRouting(first!, t)) break
      i++
    }
    return Math.min(i, n)
  }

  #encodeBatch(batch: Envelope[]): { frame: Uint8Array; count: number } {
    let frame: Uint8Array
    try {
      frame = this.#codec.encodeBatch(batch)
    } catch (err) {
      // Find the envelopes that cannot be encoded, report and drop them, send the rest.
      const good: Envelope[] = []
      for (const e of batch) {
        try {
          this.#codec.encode(e)
          good.push(e)
        } catch (bad) {
          this.#host.stats.dropped++
          this.#host.emit({ type: 'error', error: asDripdropError(bad, this.#spec.name) })
        }
      }
      if (good.length === batch.length) throw err
      if (good.length === 0) throw asDripdropError(err, this.#spec.name)
      return good.length === 1
        ? { frame: this.#codec.encode(good[0]), count: 1 }
        : { frame: this.#codec.encodeBatch(good), count: good.length }
    }
    const limit = this.#options.batchMaxBytes
    if (frame.byteLength > limit) this.#batchLimit = Math.max(1, batch.length >> 1)
    else if (frame.byteLength < limit >> 2 && this.#batchLimit < this.#options.batchMaxMessages)
      this.#batchLimit = Math.min(this.#options.batchMaxMessages, this.#batchLimit * 2)
    return { frame, count: batch.length }
  }

  #sendFailed(err: unknown, parts: Uint8Array[]): void {
    const frame = parts[parts.length - 1]
    const count = countEnvelopes(frame)
    const code = (err as { code?: string }).code
    const stats = this.#host.stats
    // A reply to a peer that went away (disconnected with requests in flight): the peer hung up, nothing of
    // ours failed, so it is counted as aborted (CONTRIBUTING.md), not as an error or a drop.
    if (code === 'EHOSTUNREACH' && this.#layout.socket === 'ROUTER') {
      stats.aborted += count
      return
    }
    stats.dropped += count
    if (code === 'EAGAIN' && this.#layout.socket === 'PUB') return // a subscriber at its high-water mark
    if (this.#state !== 'open') return // closed under a pending send: counted as dropped above
    const route = this.#spec.name
    // A ROUTER's parts start with the peer's routing: the error names it (UnroutableError.peer).
    const peer = this.#layout.socket === 'ROUTER' ? parts.slice(0, -1) : undefined
    const error =
      code === 'EHOSTUNREACH'
        ? new UnroutableError(`route "${route}": peer is not connected, ${count} dropped`, err, peer, count)
        : code === 'EAGAIN'
          ? new UnroutableError(
              `route "${route}": peer is not reading (high-water mark), ${count} dropped`,
              err,
              peer,
              count,
            )
          : new TransportError(`route "${route}": send failed: ${(err as Error).message}`, err)
    this.#host.emit({ type: 'error', error })
  }

  #topic(name: string): Buffer {
    let topic = this.#topics.get(name)
    if (topic === undefined) {
      if (this.#topics.size >= TOPIC_CACHE_MAX) this.#topics.clear()
      topic = Buffer.from(name, 'utf8')
      this.#topics.set(name, topic)
    }
    return topic
  }

  // ---- lifecycle ----

  /** Flushes for at most `lingerMs`, then closes; resolves when every bound port is free. Called again, returns the same promise. */
  close(lingerMs: number): Promise<void> {
    this.#closed ??= this.#close(lingerMs)
    return this.#closed
  }

  async #close(lingerMs: number): Promise<void> {
    if (this.#state === 'starting') await this.#started?.catch(() => {})
    if (this.#state !== 'open') {
      this.#state = 'closed'
      return
    }
    this.#state = 'closing'
    const started = performance.now()
    if (this.#writing) await this.#untilWriterIdle(lingerMs)
    const socket = this.#socket!
    const left = Math.max(0, Math.ceil(lingerMs - (performance.now() - started)))
    // Replies still waiting for a full pipe get one last try, then count as dropped.
    if (this.#parked !== undefined && this.#parked.size > 0 && !this.#writing)
      await this.#parked.retry(socket as zmq.Router, () => {})
    const dropped = this.#outbox.clear(new ClosedError(`route "${this.#spec.name}" closed before sending`))
    this.#host.stats.dropped += dropped + this.#dropParked()
    this.#state = 'closed'
    this.#whenUp?.()
    await this.#releaseAll(this.#options.socketLingerMs > 0 ? this.#options.socketLingerMs : left)
    await this.#releaseZap()
    await this.#readerDone
  }

  // Gives the ZAP domain back (the last one unbinds the process's ZAP handler). Once.
  #releaseZap(): Promise<void> {
    const domain = this.#zapDomain
    if (domain === undefined) return Promise.resolve()
    this.#zapDomain = undefined
    return zapHandler.release(domain)
  }

  async #releaseAll(lingerMs: number): Promise<void> {
    await Promise.all(this.#sockets.map((socket) => this.#release(socket, lingerMs)))
  }

  // Frees the bound ports first (see releaseSocket): `close()` resolves when they can be bound again.
  #release(socket: ZmqSocket, lingerMs: number): Promise<void> {
    return releaseSocket(socket, this.#bound.splice(0), lingerMs)
  }

  // Forgets the byte budget and the replies waiting for a pipe; returns the envelopes in those replies.
  #dropParked(): number {
    clearTimeout(this.#retryTimer)
    this.#retryTimer = undefined
    this.#ledger?.clear()
    let n = 0
    for (const parts of this.#parked?.clear() ?? []) n += countEnvelopes(parts[parts.length - 1])
    return n
  }

  destroy(): number {
    if (this.#state === 'closed') return 0
    const wasStarting = this.#state === 'starting' || this.#state === 'idle'
    this.#state = 'closed'
    const dropped = this.#outbox.clear(new DestroyedError(`route "${this.#spec.name}" was destroyed`))
    this.#host.stats.dropped += this.#dropParked()
    this.#whenUp?.()
    // A socket still binding is closed by #start() once its bind returns (zeromq.js refuses a close then).
    if (!wasStarting) {
      for (const socket of this.#sockets) {
        if (socket.closed) continue
        socket.linger = 0
        socket.close()
      }
      void this.#releaseZap()
    }
    return dropped
  }

  #untilWriterIdle(timeoutMs: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, timeoutMs)
      const self = this
      function done() {
        clearTimeout(timer)
        self.#writerIdle = undefined
        resolve()
      }
      this.#writerIdle = done
    })
  }
}
