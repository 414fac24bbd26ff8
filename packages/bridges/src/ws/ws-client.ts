import type { Envelope, Head } from '@dripdrop/codec'
import {
  AbortError,
  ClosedError,
  type DecodeError,
  DestroyedError,
  fromErrorBody,
  type RouteHost,
  type RouteSocket,
  type RouteSpec,
  TimeoutError,
  TransportError,
} from '@dripdrop/core'
import { Deadlines, Queue } from '@dripdrop/core/internal'
import { WebSocket } from 'ws'
import { positiveInt } from '../address.js'
import { DisconnectedError, isPeerGone, UnauthorizedError, WS_CLOSE } from '../errors.js'
import { clientTls, type TlsClientOptions } from '../tls.js'
import { FrameCodec, frameSize, HELLO, SUBPROTOCOLS, type WsFormat, withoutStack } from './ws-frames.js'

/** Options of a `ws-client` route, beside core's route options. */
export interface WsClientOptions {
  /**
   * TLS for a `wss://` address: `ca` pins the CAs the server certificate must chain to (the system's by
   * default); a self-signed or unknown certificate is refused. See {@link TlsClientOptions}.
   */
  tls?: TlsClientOptions
  /** Frame format: JSON text frames or msgpack binary frames. @default 'json' */
  format?: WsFormat
  /** Reconnect after the connection drops. @default true */
  reconnect?: boolean
  /** First reconnect delay, in ms; it doubles per failed attempt (with ±50% jitter). @default 100 */
  reconnectMinMs?: number
  /** Largest reconnect delay, in ms. @default 10000 */
  reconnectMaxMs?: number
  /** Sent as `?token=` on every (re)connect, for the server's `authorize` hook. */
  token?: string
  /** Extra upgrade request headers (`Origin`, `Authorization`, cookies). */
  headers?: Readonly<Record<string, string>>
  /** Largest message (frame) accepted, in bytes. @default 16 MiB */
  maxMessageBytes?: number
  /**
   * Bytes of encoded frames that may wait to be written: those queued while disconnected plus those the
   * socket has not sent yet (`bufferedAmount`). Past it (or past `highWaterMark` frames queued) `send()` waits
   * for room. @default 4 MiB
   */
  maxQueueBytes?: number
}

interface Outgoing {
  frame: string | Uint8Array
  size: number
  /** Set when the send waits for room: settles once the frame is written, or when it is dropped. */
  done: ((err?: Error) => void) | undefined
}

interface PendingRequest {
  id: number
  resolve: (e: Envelope) => void
  reject: (err: Error) => void
  timeoutMs: number
  settled: boolean
  cleanup: (() => void) | undefined
}

/**
 * The `ws-client` route's socket: one `ws` connection that reconnects with exponential backoff. Envelopes sent
 * while it is down wait in a queue (sends past `highWaterMark` wait for the reconnect: backpressure) and each
 * is written once: nothing is re-sent after a reconnect, and requests in flight when the connection drops
 * fail with `DD_ERR_WS_DISCONNECTED`.
 */
export class WsClientSocket implements RouteSocket {
  readonly endpoints: readonly string[]
  readonly #spec: RouteSpec
  readonly #host: RouteHost
  readonly #url: string
  readonly #format: WsFormat
  readonly #codec: FrameCodec
  readonly #reconnect: boolean
  readonly #reconnectMinMs: number
  readonly #reconnectMaxMs: number
  readonly #maxQueueBytes: number
  readonly #stacks: boolean
  #queuedBytes = 0
  #drainArmed = false
  #closed: Promise<void> | undefined
  readonly #headers: Readonly<Record<string, string>> | undefined
  readonly #tls: TlsClientOptions | undefined
  #ws: WebSocket | undefined
  #state: 'idle' | 'connecting' | 'open' | 'closing' | 'closed' = 'idle'
  #attempt = 0
  #timer: NodeJS.Timeout | undefined
  readonly #queue = new Queue<Outgoing>()
  readonly #pending = new Map<number, PendingRequest>()
  readonly #deadlines = new Deadlines<PendingRequest>(
    (p) => !p.settled,
    (p) => {
      this.#host.stats.timeouts++
      this.#settle(p, new TimeoutError(`request ${p.id} timed out after ${p.timeoutMs} ms`, p.timeoutMs))
    },
  )
  #seq = 0
  /** The connection id the server gave (its `$hello`), or `undefined` while not connected. */
  id: string | undefined
  /** Times the connection came up again after dropping. */
  reconnects = 0

  constructor(spec: RouteSpec, host: RouteHost) {
    const o = spec.options as WsClientOptions
    const path = `route "${spec.name}": options`
    if (spec.bind.length > 0 || spec.connect.length !== 1) {
      throw new TypeError(`${path}.connect: a ws-client route connects to exactly one ws:// address`)
    }
    if (o.format !== undefined && o.format !== 'json' && o.format !== 'msgpack') {
      throw new TypeError(`${path}.format must be "json" or "msgpack"`)
    }
    const url = new URL(spec.connect[0])
    this.#tls = clientTls(o.tls, url.protocol.slice(0, -1), 'wss', path)
    if (o.token !== undefined) url.searchParams.set('token', o.token)
    this.#url = url.toString()
    this.endpoints = [spec.connect[0]]
    this.#spec = spec
    this.#host = host
    this.#format = o.format ?? 'json'
    this.#codec = new FrameCodec(positiveInt(o.maxMessageBytes, 16 * 1024 * 1024, `${path}.maxMessageBytes`))
    this.#reconnect = o.reconnect !== false
    this.#reconnectMinMs = positiveInt(o.reconnectMinMs, 100, `${path}.reconnectMinMs`)
    this.#reconnectMaxMs = positiveInt(o.reconnectMaxMs, 10_000, `${path}.reconnectMaxMs`)
    this.#maxQueueBytes = positiveInt(o.maxQueueBytes, 4 * 1024 * 1024, `${path}.maxQueueBytes`)
    this.#stacks = spec.options.exposeErrorStacks === true
    this.#headers = o.headers
    clients.set(host.route, this)
  }

  /**
   * Bytes waiting to be sent: frames queued here plus what the socket has not written yet (`bufferedAmount`).
   * Sends wait for room once this passes `maxQueueBytes`.
   */
  get bufferedBytes(): number {
    return this.#queuedBytes + (this.#ws?.bufferedAmount ?? 0)
  }

  /** `connecting`, `open`, `closing`, `closed` (or `idle` before start). */
  get state(): string {
    return this.#state
  }

  async start(): Promise<void> {
    this.#connect()
  }

  #connect(): void {
    this.#state = 'connecting'
    const ws = new WebSocket(this.#url, [SUBPROTOCOLS[this.#format]], {
      headers: this.#headers,
      maxPayload: this.#codec.json.maxMessageBytes,
      perMessageDeflate: false,
      ...(this.#tls === undefined
        ? {}
        : {
            ca: this.#tls.ca as string[] | string | undefined,
            cert: this.#tls.cert,
            key: this.#tls.key,
            servername: this.#tls.servername,
            rejectUnauthorized: true,
          }),
    })
    this.#ws = ws
    ws.on('open', () => {
      // A dripdrop server (it picked our sub-protocol) greets an accepted connection with its hello first and
      // refuses with 4401/4403 and no hello: nothing queued is written before the hello, so nothing is lost
      // to a refusal. Another server is open at once.
      if (ws.protocol.startsWith('dripdrop.')) this.#awaitingHello = true
      else this.#opened()
    })
    ws.on('message', (data, isBinary) => {
      // The outermost handler of every frame catches: a throw here would escape through ws's socket reader.
      try {
        this.#onMessage(data as Buffer, isBinary)
      } catch (err) {
        this.#host.emit({
          type: 'error',
          error: new TransportError(`${this.endpoints[0]}: ${(err as Error)?.message}`, err),
          endpoint: this.endpoints[0],
        })
      }
    })
    ws.on('unexpected-response', (_req, res) => {
      // The server refused the upgrade (401/403 from its authorize hook): retrying would only be refused again,
      // so the route stops, and what waits for the connection fails as unauthorized rather than by timeout.
      const status = res.statusCode ?? 0
      ws.terminate()
      if (status === 401 || status === 403) this.#refused(status)
      else {
        const error = new TransportError(`${this.endpoints[0]} answered the upgrade with ${status}`)
        this.#host.emit({ type: 'error', error, endpoint: this.endpoints[0] })
      }
    })
    ws.on('error', (err: NodeJS.ErrnoException) => {
      // A reset of an open connection is the server going away: counted as aborted on 'close'.
      if (isPeerGone(err) && this.#state === 'open') return
      this.#host.emit({
        type: 'error',
        error: new TransportError(err.message, err),
        endpoint: this.endpoints[0],
      })
    })
    ws.on('close', (code) => {
      this.#awaitingHello = false
      // A dripdrop server refuses clients that offered its sub-protocol with 4401/4403 right after the upgrade.
      if (code === WS_CLOSE.UNAUTHORIZED || code === WS_CLOSE.FORBIDDEN) this.#refused(code - 4000)
      const wasOpen = this.#state === 'open'
      if (wasOpen && code === 1006) this.#host.stats.aborted++ // dropped without a close frame
      this.id = undefined
      this.#failPending(new DisconnectedError(`connection to ${this.endpoints[0]} closed before the reply`))
      if (wasOpen) this.#host.emit({ type: 'disconnect', endpoint: this.endpoints[0] })
      if (this.#state === 'closing' || this.#state === 'closed') return
      if (!this.#reconnect || this.#stopped) {
        this.#state = 'closed'
        return
      }
      this.#state = 'connecting'
      const base = Math.min(this.#reconnectMaxMs, this.#reconnectMinMs * 2 ** this.#attempt++)
      this.#timer = setTimeout(() => this.#connect(), Math.round(base * (0.5 + Math.random())))
    })
  }

  #awaitingHello = false

  #opened(): void {
    this.#awaitingHello = false
    if (this.#everOpened) this.reconnects++
    this.#everOpened = true
    this.#attempt = 0
    this.#state = 'open'
    this.#flush()
    this.#host.emit({ type: 'connect', endpoint: this.endpoints[0] })
  }

  #refused(status: number): void {
    if (this.#stopped) return
    const error = new UnauthorizedError(`${this.endpoints[0]} refused the connection with ${status}`, status)
    this.#stopped = error
    this.#host.emit({ type: 'error', error, endpoint: this.endpoints[0] })
    this.#failPending(error)
    // Frames admitted while connecting never reach the server: counted; sends waiting for room reject.
    this.#host.stats.dropped += this.#dropQueue(error)
  }

  #everOpened = false
  /** Set when the server refused the upgrade (401/403): no reconnect, every send fails with it. */
  #stopped: Error | undefined

  #onMessage(data: Buffer, isBinary: boolean): void {
    this.#host.stats.bytesIn += data.byteLength
    let decoded: Envelope | Envelope[]
    try {
      decoded = this.#codec.decode(data, isBinary)
    } catch (err) {
      this.#host.emit({ type: 'error', error: err as DecodeError, endpoint: this.endpoints[0] })
      return
    }
    if (Array.isArray(decoded)) for (const e of decoded) this.#deliver(e)
    else this.#deliver(decoded)
  }

  #deliver(envelope: Envelope): void {
    const re = envelope.head.$re
    if (re !== undefined) {
      const p = typeof re === 'number' ? this.#pending.get(re) : undefined
      this.#host.stats.messagesIn++
      if (p === undefined) this.#host.stats.unmatchedReplies++
      else if (envelope.head.$err === true) this.#settle(p, fromErrorBody(envelope.body))
      else this.#settle(p, undefined, envelope)
      return
    }
    if (envelope.name === HELLO && typeof envelope.head.$conn === 'string') {
      this.id = envelope.head.$conn
      if (this.#awaitingHello) this.#opened()
      return
    }
    if (this.#held !== undefined) {
      // Frames ws had already read when the socket was paused wait their turn here.
      this.#held.push(envelope)
      return
    }
    this.#handOver(envelope)
  }

  #held: Queue<Envelope> | undefined

  #handOver(envelope: Envelope): void {
    const wait = this.#host.receive(envelope)
    if (wait === undefined) return
    // Handlers are saturated: stop reading until a slot frees, so TCP pushes back on the server.
    this.#held ??= new Queue<Envelope>()
    const ws = this.#ws
    ws?.pause()
    const next = () => this.#release(ws)
    wait.then(next, next)
  }

  #release(ws: WebSocket | undefined): void {
    const held = this.#held!
    this.#held = undefined
    while (held.length > 0) {
      this.#handOver(held.shift())
      const again = this.#held as Queue<Envelope> | undefined
      if (again !== undefined) {
        for (const e of held) again.push(e)
        return
      }
    }
    ws?.resume()
  }

  // ---- sending ----

  /**
   * Writes at once while the connection is open and has room (`bufferedAmount` within `maxQueueBytes`);
   * otherwise queues. A send that finds the queue full (`highWaterMark` frames or `maxQueueBytes` bytes)
   * returns a promise that resolves once its frame is written, or rejects with `DD_ERR_CLOSED` /
   * `DD_ERR_DESTROYED` / `DD_ERR_WS_UNAUTHORIZED` if it never will be.
   */
  send(envelope: Envelope): void | Promise<void> {
    if (this.#stopped) return Promise.reject(this.#stopped)
    if (this.#state === 'closing' || this.#state === 'closed') {
      return Promise.reject(new ClosedError(`route "${this.#spec.name}" is ${this.#state}`))
    }
    if (!this.#stacks && envelope.head.$err === true) envelope = withoutStack(envelope)
    const frame = this.#codec.encode(envelope, this.#format)
    const size = frameSize(frame)
    if (this.#state === 'open' && this.#queue.length === 0 && this.#hasRoom(size)) {
      this.#write(frame, size)
      return
    }
    if (this.#queue.length < this.#spec.highWaterMark && this.bufferedBytes + size <= this.#maxQueueBytes) {
      this.#enqueue({ frame, size, done: undefined })
      return
    }
    return new Promise<void>((resolve, reject) =>
      this.#enqueue({ frame, size, done: (err) => (err ? reject(err) : resolve()) }),
    )
  }

  #enqueue(item: Outgoing): void {
    this.#queue.push(item)
    this.#queuedBytes += item.size
    if (this.#state === 'open') this.#waitForRoom()
  }

  /** Room on the socket for `size` more bytes; one frame always fits an empty socket. */
  #hasRoom(size: number): boolean {
    const buffered = this.#ws!.bufferedAmount
    return buffered === 0 || buffered + size <= this.#maxQueueBytes
  }

  request(envelope: Envelope, options: { timeoutMs: number; signal?: AbortSignal }): Promise<Envelope> {
    const id = ++this.#seq
    const head: Head = { ...envelope.head, $id: id }
    return new Promise<Envelope>((resolve, reject) => {
      const p: PendingRequest = {
        id,
        resolve,
        reject,
        timeoutMs: options.timeoutMs,
        settled: false,
        cleanup: undefined,
      }
      const signal = options.signal
      if (signal) {
        const onAbort = () => this.#settle(p, new AbortError('request aborted', signal.reason))
        signal.addEventListener('abort', onAbort, { once: true })
        p.cleanup = () => signal.removeEventListener('abort', onAbort)
      }
      this.#pending.set(id, p)
      this.#deadlines.add(p, options.timeoutMs)
      let admitted: void | Promise<void>
      try {
        admitted = this.send({ name: envelope.name, head, body: envelope.body })
      } catch (err) {
        this.#settle(p, err as Error)
        return
      }
      if (admitted) admitted.catch((err: Error) => this.#settle(p, err))
    })
  }

  #write(frame: string | Uint8Array, size: number): void {
    this.#host.stats.bytesOut += size
    this.#ws!.send(frame)
  }

  #flush(): void {
    // Each queued frame is written once, then forgotten: a later reconnect never sends it again.
    while (this.#queue.length > 0 && this.#state === 'open') {
      if (!this.#hasRoom(this.#queue.peek()!.size)) {
        this.#waitForRoom()
        return
      }
      const item = this.#queue.shift()
      this.#queuedBytes -= item.size
      this.#write(item.frame, item.size)
      item.done?.()
    }
    this.#idle?.()
  }

  /**
   * Flushes again once the socket drained. `ws` has no drain event of its own; its net.Socket (`_socket`, its
   * name since ws 1.x) has, and with compression off `bufferedAmount` is what that socket holds.
   */
  #waitForRoom(): void {
    if (this.#drainArmed) return
    const socket = (this.#ws as unknown as { _socket?: NodeJS.EventEmitter & { writableLength: number } })
      ?._socket
    if (socket === undefined) return
    this.#drainArmed = true
    const ws = this.#ws
    const again = () => {
      this.#drainArmed = false
      if (this.#ws === ws) this.#flush()
    }
    if (socket.writableLength === 0) queueMicrotask(again)
    else socket.once('drain', again)
  }

  /** Drops every queued frame: the sends that wait for room reject with `err`. Returns how many. */
  #dropQueue(err: Error): number {
    let dropped = 0
    while (this.#queue.length > 0) {
      this.#queue.shift().done?.(err)
      dropped++
    }
    this.#queuedBytes = 0
    return dropped
  }

  #settle(p: PendingRequest, err: Error | undefined, reply?: Envelope): void {
    if (p.settled) return
    p.settled = true
    this.#pending.delete(p.id)
    p.cleanup?.()
    if (err) p.reject(err)
    else p.resolve(reply!)
    if (this.#pending.size === 0) this.#idle?.()
  }

  #failPending(err: Error): void {
    for (const p of [...this.#pending.values()]) this.#settle(p, err)
  }

  #idle: (() => void) | undefined

  // ---- lifecycle ----

  /**
   * Flushes the queue and waits for replies for at most `lingerMs`, then closes (1000). What could not be sent
   * is dropped and counted in `stats.dropped`: sends still waiting for room and requests without a reply
   * reject with `DD_ERR_CLOSED`. A second call returns the same promise.
   */
  close(lingerMs: number): Promise<void> {
    this.#closed ??= this.#close(lingerMs)
    return this.#closed
  }

  async #close(lingerMs: number): Promise<void> {
    if (this.#state === 'closed' || this.#state === 'closing') return
    const wasOpen = this.#state === 'open'
    clearTimeout(this.#timer)
    if (wasOpen && (this.#queue.length > 0 || this.#pending.size > 0)) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, lingerMs)
        this.#idle = () => {
          if (this.#queue.length > 0 || this.#pending.size > 0) return
          clearTimeout(timer)
          resolve()
        }
      })
    }
    this.#state = 'closing'
    const ws = this.#ws
    if (ws && ws.readyState !== WebSocket.CLOSED) {
      const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()))
      ws.close(1000)
      const timer = setTimeout(() => ws.terminate(), Math.max(lingerMs, 100))
      await closed
      clearTimeout(timer)
    }
    this.#host.stats.dropped += this.#finish(new ClosedError(`route "${this.#spec.name}" closed`))
  }

  /**
   * Terminates the connection. Requests in flight and sends waiting for room reject with `DD_ERR_DESTROYED`;
   * returns how many envelopes were dropped: requests without a reply and frames never written.
   */
  destroy(): number {
    clearTimeout(this.#timer)
    this.#state = 'closing'
    this.#ws?.terminate()
    const requests = this.#pending.size
    return requests + this.#finish(new DestroyedError(`route "${this.#spec.name}" was destroyed`))
  }

  /** Fails what is left with `err`; returns how many admitted frames were never written. */
  #finish(err: Error): number {
    this.#state = 'closed'
    this.#deadlines.clear()
    this.#failPending(err)
    return this.#dropQueue(err)
  }
}

const clients = new WeakMap<object, WsClientSocket>()

/**
 * The socket of a `ws-client` route: its connection id (`id`), `state` and `reconnects`.
 *
 * @example
 * ```ts
 * const server = node.route('server', { type: 'ws-client', connect: 'ws://127.0.0.1:8080' })
 * node.events.on('route:connect', () => console.log('connected as', wsClient(server).id))
 * ```
 */
export function wsClient(route: object): WsClientSocket {
  const socket = clients.get(route)
  if (socket === undefined) throw new TypeError('wsClient() needs a ws-client route')
  return socket
}
