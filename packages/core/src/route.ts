import { setImmediate as realSetImmediate } from 'node:timers'
import type { Envelope, Head } from '@dripdrop/codec'
import { EMPTY_HEAD } from '@dripdrop/codec'
import { Deadlines } from './deadlines.js'
import { HandlerTable } from './handler-table.js'
import { type Deferred, deferred } from './deferred.js'
import {
  AbortError,
  ClosedError,
  DestroyedError,
  DripdropError,
  fromErrorBody,
  NoHandlerError,
  TimeoutError,
  TransportError,
  toErrorBody,
  UnsupportedError,
} from './errors.js'
import type { NodeEventMap } from './events.js'
import { RouteStats } from './stats.js'
import {
  type RouteHost,
  type RouteSocket,
  type RouteSpec,
  type RouteType,
  schemeOf,
  type TransportEvent,
} from './transport.js'

/**
 * Lifecycle of a route (and of a node): `idle` until `start()`, `starting` while it binds and connects,
 * `open`, `closing` while `close()` drains, `closed` (after `close()`, `destroy()` or a failed start).
 */
export type RouteState = 'idle' | 'starting' | 'open' | 'closing' | 'closed'

/** What a handler gets beside the message. */
export interface MessageContext {
  /** The route the message came in on. */
  readonly route: Route
  /** The sending peer, for `route.sendTo()` (set on `rep` and `router` routes). */
  readonly from: unknown
}

/**
 * Handles one message. On `rep` and `router` routes, a message that carries a request id (`$id`) is answered
 * with the handler's return value (or the error it throws). Async handlers count against the route's
 * `concurrency`; when all slots are busy the route stops reading, which pushes back on the senders.
 */
export type Handler<B = any, R = unknown> = (message: Envelope<B>, context: MessageContext) => R | Promise<R>

/** Options of one `request()`. */
export interface RequestOptions {
  /**
   * Overrides the route's `timeoutMs`, in ms. The request is rejected with `DD_ERR_TIMEOUT` after it, and
   * the responder drops it unanswered if it has not started it by then (the deadline travels as `$dl`).
   */
  timeoutMs?: number
  /** Extra head fields. */
  head?: Head
  /** Rejects the request with `DD_ERR_ABORTED` when aborted. */
  signal?: AbortSignal
}

/** @internal what a route needs from its node */
export interface RouteOwner {
  emit<K extends keyof NodeEventMap>(event: K, payload: NodeEventMap[K]): void
  fallback(name: string): Handler | undefined
}

interface Pending {
  id: number
  resolve: (reply: Envelope) => void
  reject: (err: Error) => void
  timeoutMs: number
  settled: boolean
  signal: AbortSignal | undefined
  onAbort: (() => void) | undefined
}

const RESOLVED: Promise<void> = Promise.resolve()
const SENDS = new Set<RouteType>(['pub', 'push', 'req', 'dealer', 'router', 'rep'])
const REPLIES = new Set<RouteType>(['rep', 'router'])
const CORRELATES = new Set<RouteType>(['req', 'dealer'])

/**
 * A named socket of a node: sends, receives, requests. Create routes with `node.route()`.
 *
 * @example
 * ```ts
 * const jobs = node.route('jobs', { type: 'push', bind: 'inproc://jobs' })
 * await jobs.send('resize', { url })
 * ```
 */
export class Route {
  readonly name: string
  readonly type: RouteType
  readonly stats = new RouteStats()
  readonly spec: RouteSpec
  #state: RouteState = 'idle'
  readonly #socket: RouteSocket
  readonly #owner: RouteOwner
  readonly #handlers = new HandlerTable()
  readonly #concurrency: number
  readonly #timeoutMs: number
  readonly #lingerMs: number
  readonly #exposeStacks: boolean
  #replies: boolean
  readonly #correlates: boolean
  #inflight = 0
  #slot: Deferred | undefined
  #idle: Deferred | undefined
  #drained: Deferred | undefined
  #ready: Deferred | undefined
  #opened: Promise<void> | undefined
  #closed: Promise<void> | undefined
  #destroyed = false
  #seq = 0
  // The addresses this route connects to now: the spec's, then whatever connect()/disconnect() changed.
  readonly #connects: string[]
  // Runtime connect()/disconnect() calls run one after another, in call order.
  #peerChange: Promise<void> = RESOLVED
  readonly #pending = new Map<number, Pending>()
  readonly #deadlines = new Deadlines<Pending>(
    (p) => !p.settled,
    (p) => this.#expire(p),
  )

  /**
   * @internal use `node.route()`. `open` creates the transport socket, given the host side of this route
   * (kept out of the route's public surface).
   */
  constructor(
    spec: RouteSpec,
    owner: RouteOwner,
    concurrency: number,
    timeoutMs: number,
    lingerMs: number,
    open: (host: RouteHost) => RouteSocket,
  ) {
    this.name = spec.name
    this.type = spec.type
    this.spec = spec
    this.#owner = owner
    this.#concurrency = concurrency
    this.#timeoutMs = timeoutMs
    this.#lingerMs = lingerMs
    this.#exposeStacks = spec.options.exposeErrorStacks === true
    this.#replies = REPLIES.has(spec.type)
    this.#correlates = CORRELATES.has(spec.type)
    this.#connects = [...new Set(spec.connect)]
    const host: RouteHost = {
      route: this,
      stats: this.stats,
      receive: (envelope, from) => this.#receive(envelope, from),
      emit: (event) => this.#emit(event),
    }
    const socket = open(host)
    this.#socket = socket
    if (socket.replies === true) this.#replies = true
  }

  /** `idle`, `starting`, `open`, `closing` or `closed`. */
  get state(): RouteState {
    return this.#state
  }

  /** The real endpoints once open (a bound `tcp://…:*` shows its port). */
  get endpoints(): readonly string[] {
    return this.#socket.endpoints
  }

  /** Requests waiting for a reply. */
  get pendingRequests(): number {
    return this.#pending.size
  }

  /** Async handlers running now. */
  get inflight(): number {
    return this.#inflight
  }

  /**
   * Registers a handler for a message name, or `'*'` for every name without its own handler.
   * Returns the route, so calls chain.
   */
  on<B = any, R = unknown>(name: string, handler: Handler<B, R>): this {
    this.#handlers.set(name, handler as Handler)
    return this
  }

  /** Removes the handler of a name (or the catch-all with `'*'`). */
  off(name: string): this {
    this.#handlers.delete(name)
    return this
  }

  /**
   * Sends one envelope: resolves when the transport admitted it (waits while the queue is full).
   * Accepts an envelope or its parts.
   *
   * @example
   * ```ts
   * await route.send('tick', { n: 1 })
   * await route.send({ name: 'tick', head: { trace: 'a1' }, body: { n: 1 } })
   * ```
   */
  send<B>(name: string | Envelope<B>, body?: B, head?: Head): Promise<void> {
    const envelope: Envelope =
      typeof name === 'string' ? { name, head: head ?? EMPTY_HEAD, body } : (name as Envelope)
    if (this.#state !== 'open') return this.#sendLater(envelope)
    this.stats.messagesOut++
    try {
      return this.#socket.send(envelope) ?? RESOLVED
    } catch (err) {
      this.stats.messagesOut--
      return Promise.reject(err)
    }
  }

  /** Same as {@link Route.send}; reads better on `pub` routes. */
  publish<B>(name: string | Envelope<B>, body?: B, head?: Head): Promise<void> {
    return this.send(name, body, head)
  }

  /**
   * Sends to one peer: a `from` that a handler's context gave (raw `router` routes).
   */
  sendTo<B>(to: unknown, name: string | Envelope<B>, body?: B, head?: Head): Promise<void> {
    const envelope: Envelope =
      typeof name === 'string' ? { name, head: head ?? EMPTY_HEAD, body } : (name as Envelope)
    if (this.#state !== 'open') return Promise.reject(this.#notOpen())
    if (!this.#socket.sendTo)
      return Promise.reject(new TypeError(`route "${this.name}" (${this.type}) cannot sendTo`))
    this.stats.messagesOut++
    try {
      return this.#socket.sendTo(to, envelope) ?? RESOLVED
    } catch (err) {
      // e.g. a `to` that is not a peer of this transport: a rejection, like every other failure of a send.
      this.stats.messagesOut--
      return Promise.reject(err)
    }
  }

  /**
   * Sends a request and resolves with the reply envelope. Many requests may be in flight at once; each has
   * its own timeout (`DD_ERR_TIMEOUT`). A handler error on the other side rejects with a `RemoteError`
   * carrying the remote code.
   *
   * @example
   * ```ts
   * const reply = await users.request('user.get', { id: 7 }, { timeoutMs: 500 })
   * ```
   */
  request<R = any, B = unknown>(name: string, body?: B, options?: RequestOptions): Promise<Envelope<R>> {
    const timeoutMs = options?.timeoutMs ?? this.#timeoutMs
    if (this.#state !== 'open') {
      if (this.#state === 'idle' || this.#state === 'starting') {
        return this.#whenOpen().then(() => this.request<R, B>(name, body, options))
      }
      return Promise.reject(this.#notOpen())
    }
    const signal = options?.signal
    if (signal?.aborted)
      return Promise.reject(new AbortError('request aborted before it was sent', signal.reason))
    const now = Date.now()
    const $dl = now + timeoutMs
    if (this.#socket.request) {
      const head: Head = options?.head ? { ...options.head, $dl } : { $dl }
      this.stats.messagesOut++
      return this.#socket.request({ name, head, body }, { timeoutMs, signal }) as Promise<Envelope<R>>
    }
    if (!this.#correlates) {
      return Promise.reject(
        new TypeError(`route "${this.name}" is a ${this.type} route: request() needs req or dealer`),
      )
    }
    const id = ++this.#seq
    const head: Head = options?.head ? { ...options.head, $id: id, $dl } : { $id: id, $dl }
    return new Promise<Envelope<R>>((resolve, reject) => {
      const p: Pending = {
        id,
        resolve: resolve as (e: Envelope) => void,
        reject,
        timeoutMs,
        settled: false,
        signal,
        onAbort: undefined,
      }
      this.#pending.set(id, p)
      this.#deadlines.add(p, timeoutMs, now)
      if (signal) {
        p.onAbort = () => this.#settle(p, new AbortError('request aborted', signal.reason))
        signal.addEventListener('abort', p.onAbort, { once: true })
      }
      this.stats.messagesOut++
      let admitted: void | Promise<void>
      try {
        admitted = this.#socket.send({ name, head, body })
      } catch (err) {
        this.#settle(p, err as Error)
        return
      }
      if (admitted) admitted.catch((err: Error) => this.#settle(p, err))
    })
  }

  /**
   * Resolves once the route has at least `peers` live connections (default 1), or rejects with
   * `DD_ERR_TIMEOUT` after `timeoutMs` (default: the route's `timeoutMs`). Requests sent before every peer is
   * connected all go to the peers already there, so wait here first when the spread matters.
   *
   * @example
   * ```ts
   * const api = node.route('api', { type: 'req', connect: [a, b] })
   * await node.start()
   * await api.connected({ peers: 2, timeoutMs: 5000 })
   * ```
   */
  async connected(options: { peers?: number; timeoutMs?: number } = {}): Promise<void> {
    const peers = options.peers ?? 1
    const timeoutMs = options.timeoutMs ?? this.#timeoutMs
    const signal = AbortSignal.timeout(timeoutMs)
    const timedOut = new Promise<never>((_, reject) =>
      signal.addEventListener('abort', () =>
        reject(
          new TimeoutError(
            `route "${this.name}": ${peers} peer(s) not connected after ${timeoutMs} ms`,
            timeoutMs,
          ),
        ),
      ),
    )
    timedOut.catch(() => {})
    if (this.#state === 'idle' || this.#state === 'starting') await Promise.race([this.#whenOpen(), timedOut])
    if (this.#state !== 'open') throw this.#notOpen()
    if (!this.#socket.connected)
      throw new TypeError(`route "${this.name}" (${this.type}): its transport does not report connections`)
    await Promise.race([this.#socket.connected(peers, signal), timedOut])
  }

  /** The addresses this route connects to now (its `connect` option, changed by `connect()`/`disconnect()`). */
  get connects(): readonly string[] {
    return this.#connects
  }

  /**
   * Connects the started route to one more address, at run time: its transport socket connects there as it
   * does for the `connect` option (the peer is used once its connection is up). The address must use the
   * route's scheme. Connecting an address already connected does nothing. Calls run in order.
   * Rejects with `DD_ERR_CLOSED` when the route is not open and `DD_ERR_UNSUPPORTED` when its transport has
   * fixed peers (e.g. the HTTP and WebSocket bridges).
   *
   * @example
   * ```ts
   * const work = node.route('work', { type: 'pull', connect: 'tcp://10.0.0.1:7301' })
   * await node.start()
   * await work.connect('tcp://10.0.0.2:7301') // a second gateway
   * await work.disconnect('tcp://10.0.0.1:7301') // the first one moved away
   * ```
   */
  connect(address: string): Promise<void> {
    return this.#changePeers('connect', address)
  }

  /**
   * Disconnects the started route from an address it connects to, at run time. What the transport had queued
   * for that peer only is dropped (counted in `stats.dropped`); requests in flight there end by their
   * timeout; the route serves on with its other peers. Disconnecting an address not connected does nothing.
   * Rejects like {@link Route.connect}.
   */
  disconnect(address: string): Promise<void> {
    return this.#changePeers('disconnect', address)
  }

  #changePeers(op: 'connect' | 'disconnect', address: string): Promise<void> {
    const run = async (): Promise<void> => {
      if (typeof address !== 'string')
        throw new TypeError(`route "${this.name}": ${op}() needs an address string`)
      const scheme = schemeOf(address)
      const schemes = new Set([...this.spec.bind, ...this.spec.connect].map(schemeOf))
      if (schemes.size > 0 && !schemes.has(scheme))
        throw new TypeError(
          `route "${this.name}": ${op}(${address}): the route's addresses use ${[...schemes].join(', ')}://, not ${scheme}://`,
        )
      if (this.#state === 'idle' || this.#state === 'starting') await this.#whenOpen()
      if (this.#state !== 'open') throw this.#notOpen()
      const method = this.#socket[op]
      if (method === undefined)
        throw new UnsupportedError(
          `route "${this.name}" (${this.type}): its transport cannot ${op} at run time`,
        )
      const at = this.#connects.indexOf(address)
      if (op === 'connect' ? at >= 0 : at < 0) return
      await method.call(this.#socket, address)
      if (op === 'connect') this.#connects.push(address)
      else this.#connects.splice(this.#connects.indexOf(address), 1)
    }
    const next = this.#peerChange.then(run, run)
    this.#peerChange = next.catch(() => {})
    return next
  }

  /** `sub` routes: also receive names starting with `prefix`. */
  subscribe(prefix: string): this {
    if (!this.#socket.subscribe) throw new TypeError(`route "${this.name}" (${this.type}) cannot subscribe`)
    this.#socket.subscribe(prefix)
    return this
  }

  /** `sub` routes: stop receiving names starting with `prefix`. */
  unsubscribe(prefix: string): this {
    if (!this.#socket.unsubscribe)
      throw new TypeError(`route "${this.name}" (${this.type}) cannot unsubscribe`)
    this.#socket.unsubscribe(prefix)
    return this
  }

  // ---- RouteHost: called by the transport ----

  #receive(envelope: Envelope, from?: unknown): void | Promise<void> {
    this.stats.messagesIn++
    if (this.#correlates) {
      const re = envelope.head.$re
      if (re !== undefined) {
        this.#onReply(re, envelope)
        return
      }
    }
    const id = this.#replies ? envelope.head.$id : undefined
    if (id !== undefined && this.#expired(envelope, id)) return
    const handler = this.#handlers.get(envelope.name) ?? this.#owner.fallback(envelope.name)
    if (handler === undefined) {
      this.stats.unhandled++
      this.#owner.emit('message:unhandled', { route: this.name, name: envelope.name })
      if (id !== undefined) {
        this.#reply(
          from,
          envelope,
          id,
          new NoHandlerError(`no handler for "${envelope.name}" on route "${this.name}"`),
          true,
        )
      }
      return
    }
    let result: unknown
    try {
      result = handler(envelope, { route: this, from })
    } catch (err) {
      this.#handlerFailed(envelope, from, id, err)
      return
    }
    if (
      result !== null &&
      typeof result === 'object' &&
      typeof (result as Promise<unknown>).then === 'function'
    ) {
      this.#inflight++
      // Promise.resolve() adopts any thenable without calling a user `then` synchronously here.
      Promise.resolve(result).then(
        (value) => {
          this.#release()
          if (id !== undefined) this.#reply(from, envelope, id, value, false)
        },
        (err: unknown) => {
          this.#release()
          this.#handlerFailed(envelope, from, id, err)
        },
      )
      if (this.#inflight >= this.#concurrency) return this.#waitForSlot()
      return
    }
    if (id !== undefined) this.#reply(from, envelope, id, result, false)
  }

  #emit(event: TransportEvent): void {
    const owner = this.#owner
    switch (event.type) {
      case 'error': {
        // A transport may hand over anything it caught (a string, null, an error without a code).
        const error = asDripdropError(event.error, this.name)
        this.stats.errors++
        if (error.code.startsWith('DD_ERR_DECODE')) this.stats.decodeErrors++
        owner.emit('route:error', { route: this.name, error, endpoint: event.endpoint })
        break
      }
      case 'connect':
        owner.emit('route:connect', { route: this.name, endpoint: event.endpoint })
        break
      case 'disconnect':
        owner.emit('route:disconnect', { route: this.name, endpoint: event.endpoint })
        break
      case 'listening':
        owner.emit('route:listening', { route: this.name, endpoint: event.endpoint })
        break
    }
  }

  // ---- lifecycle, driven by the node ----

  /**
   * Binds and connects (the node calls it from `node.start()`, or at once for a route declared after).
   * Calling it again returns the same promise.
   */
  start(): Promise<void> {
    if (this.#opened) return this.#opened
    if (this.#state !== 'idle') return Promise.reject(this.#notOpen())
    this.#state = 'starting'
    let started: Promise<void>
    try {
      started = this.#socket.start()
    } catch (err) {
      started = Promise.reject(err)
    }
    this.#opened = started.then(
      () => {
        if (this.#state === 'starting') this.#state = 'open'
        this.#ready?.resolve()
        this.#owner.emit('route:open', { route: this.name, endpoints: this.#socket.endpoints })
      },
      (err: unknown) => {
        this.#state = 'closed'
        this.#ready?.reject(err)
        throw err
      },
    )
    return this.#opened
  }

  /**
   * Graceful close: takes no new sends, waits for pending requests (each within its timeout) and running
   * handlers, then lets the transport flush for up to `lingerMs`. A second call returns the same promise.
   */
  close(): Promise<void> {
    if (this.#closed) return this.#closed
    if (this.#state === 'closed') {
      this.#closed = RESOLVED
      return RESOLVED
    }
    this.#closed = this.#close()
    return this.#closed
  }

  async #close(): Promise<void> {
    const wasOpen = this.#state === 'open'
    this.#state = 'closing'
    if (wasOpen) {
      if (this.#pending.size > 0) {
        this.#drained = deferred()
        await this.#drained.promise
      }
      await this.#whenIdle()
      await this.#socket.close(this.#lingerMs)
      await this.#whenIdle()
    } else {
      this.#socket.destroy()
      this.#ready?.reject(this.#notOpen())
    }
    this.#deadlines.clear()
    this.#state = 'closed'
  }

  /** Forceful close: drops queued envelopes and rejects pending requests with `DD_ERR_DESTROYED`. */
  destroy(): number {
    if (this.#state === 'closed') return 0
    this.#state = 'closed'
    this.#destroyed = true
    const dropped = this.#socket.destroy()
    this.stats.dropped += dropped
    const err = new DestroyedError(`route "${this.name}" was destroyed`)
    for (const p of [...this.#pending.values()]) this.#settle(p, err)
    this.#deadlines.clear()
    // A close() waiting for stuck handlers ends now too, so its promise settles.
    const idle = this.#idle
    this.#idle = undefined
    idle?.resolve()
    return dropped
  }

  // ---- internals ----

  #sendLater(envelope: Envelope): Promise<void> {
    if (this.#state === 'idle' || this.#state === 'starting')
      return this.#whenOpen().then(() => this.send(envelope))
    return Promise.reject(this.#notOpen())
  }

  // Sends and requests made before node.start() wait here until the route opens.
  #whenOpen(): Promise<void> {
    if (this.#opened) return this.#opened
    this.#ready ??= deferred()
    return this.#ready.promise
  }

  #notOpen(): ClosedError {
    return new ClosedError(`route "${this.name}" is ${this.#state}`)
  }

  #onReply(re: unknown, envelope: Envelope): void {
    const p = typeof re === 'number' ? this.#pending.get(re) : undefined
    if (p === undefined) {
      this.stats.unmatchedReplies++
      this.#owner.emit('reply:unmatched', { route: this.name, id: re })
      return
    }
    if (envelope.head.$err === true) this.#settle(p, fromErrorBody(envelope.body))
    else this.#settle(p, undefined, envelope)
  }

  #settle(p: Pending, err: Error | undefined, reply?: Envelope): void {
    if (p.settled) return
    p.settled = true
    this.#pending.delete(p.id)
    if (this.#drained && this.#pending.size === 0) this.#drained.resolve()
    if (p.onAbort) p.signal!.removeEventListener('abort', p.onAbort)
    if (err) p.reject(err)
    else p.resolve(reply!)
  }

  #expire(p: Pending): void {
    this.stats.timeouts++
    this.#settle(
      p,
      new TimeoutError(
        `request ${p.id} on route "${this.name}" timed out after ${p.timeoutMs} ms`,
        p.timeoutMs,
      ),
    )
  }

  #reply(from: unknown, request: Envelope, id: unknown, value: unknown, isError: boolean): void {
    const head: Head = isError ? { $re: id as number, $err: true } : { $re: id as number }
    const body = isError ? toErrorBody(value, this.#exposeStacks) : value
    if (!this.#socket.sendTo || this.#state === 'closed') return
    this.stats.messagesOut++
    try {
      const admitted = this.#socket.sendTo(from, { name: request.name, head, body })
      if (admitted) {
        this.#inflight++
        admitted.then(
          () => this.#release(),
          (err) => {
            this.#release()
            this.#transportError(err)
          },
        )
      }
    } catch (err) {
      // The reply itself could not be encoded (e.g. a handler returned a function): tell the requester.
      if (!isError) this.#reply(from, request, id, err, true)
      else this.#transportError(err)
    }
  }

  #handlerFailed(envelope: Envelope, from: unknown, id: unknown, err: unknown): void {
    this.stats.errors++
    this.#owner.emit('handler:error', { route: this.name, name: envelope.name, error: err })
    if (id !== undefined) this.#reply(from, envelope, id, err, true)
  }

  #transportError(err: unknown): void {
    this.#emit({ type: 'error', error: asDripdropError(err, this.name) })
  }

  // A request whose deadline passed before a handler could take it: its requester has given up, so running
  // it would be work for nobody (and a surprise when it has effects). Dropped unanswered and counted.
  #expired(envelope: Envelope, id: unknown): boolean {
    const dl = envelope.head.$dl
    // Not a positive finite number: no deadline. A deadline however far ahead is simply not expired, so an
    // absurd one (a peer with a broken clock) means no deadline rather than an error.
    if (typeof dl !== 'number' || !(dl > 0) || !Number.isFinite(dl)) return false
    const now = turnClock()
    if (dl > now) return false
    this.stats.expired++
    this.#owner.emit('request:expired', {
      route: this.name,
      name: envelope.name,
      id,
      deadline: dl,
      lateMs: now - dl,
    })
    return true
  }

  #release(): void {
    this.#inflight--
    if (this.#slot && this.#inflight < this.#concurrency) {
      const s = this.#slot
      this.#slot = undefined
      s.resolve()
    }
    if (this.#idle && this.#inflight === 0) {
      const s = this.#idle
      this.#idle = undefined
      s.resolve()
    }
  }

  #waitForSlot(): Promise<void> {
    this.#slot ??= deferred()
    return this.#slot.promise
  }

  #whenIdle(): Promise<void> {
    if (this.#inflight === 0 || this.#destroyed) return RESOLVED
    this.#idle ??= deferred()
    return this.#idle.promise
  }
}

// Date.now() costs 100-400 ns on the VMs this runs on, a tenth of an in-process request: the deadline check
// reads the clock once per event-loop turn instead. A stale reading is always earlier than the real time, so
// it can only let a just-expired request run, never drop one that is still wanted. `node:timers`' own
// setImmediate: test fake timers replace the global one and might never run the reset; and a turn made only of
// microtasks never ends, so the clock is read again every 1024 checks anyway.
let clockValue = 0
let clockReads = 0
const clockExpire = (): void => {
  clockReads = 0
}
function turnClock(): number {
  if (clockReads === 0) {
    clockValue = Date.now()
    realSetImmediate(clockExpire)
  }
  if (++clockReads >= 1024) clockReads = 0
  return clockValue
}

/** Wraps whatever was caught into a coded error, keeping it as the `cause`. */
function asDripdropError(err: unknown, route: string): DripdropError {
  if (err instanceof DripdropError && typeof err.code === 'string') return err
  const message = err instanceof Error ? err.message : safeString(err)
  return new TransportError(`route "${route}": ${message}`, err)
}

function safeString(value: unknown): string {
  try {
    return String(value)
  } catch {
    return Object.prototype.toString.call(value)
  }
}

/** @internal route types that send (closed after the receiving ones). */
export function isSender(type: RouteType): boolean {
  return SENDS.has(type) && !REPLIES.has(type)
}
