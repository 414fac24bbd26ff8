import net from 'node:net'
import { type ErrorKind, errorKindOf } from '../../stats/counters.js'
import { PARSE_ERROR, ResponseParser, type ResponseParserHandler } from './response-parser.js'

/**
 * The engine's fast client: a minimal HTTP/1.1 client on `net.Socket` for plain-http targets and static
 * requests. Each request is serialized once ({@link SerializedRequest}) and written as is on every send;
 * responses are parsed by {@link ResponseParser} straight out of one read buffer shared by every connection
 * (`onread`), counted and dropped. No per-request allocation: the requests in flight live in a ring of
 * reused {@link InFlight} records per connection.
 */

/** A request serialized once: the bytes written on every send. */
export interface SerializedRequest {
  readonly bytes: Buffer
  /** A HEAD request: its response has no body whatever its headers say. */
  readonly head: boolean
}

/**
 * One request in flight. The records are reused: a sink must read the fields it needs before it sends
 * anything else.
 */
export interface InFlight<T> {
  tag: T
  head: boolean
  /** performance.now() of the intended send. */
  intended: number
  /** performance.now() of the write to the socket. */
  sentAt: number
}

/** Where the pool reports each request's outcome. */
export interface FastPoolSink<T> {
  /** A response arrived (`now`: performance.now() of the read that completed it). */
  onResponse(x: InFlight<T>, status: number, bodyBytes: number, now: number): void
  /** The request failed without a response. */
  onError(x: InFlight<T>, kind: ErrorKind, now: number): void
}

/** Options of a {@link FastPool}. */
export interface FastPoolOptions {
  host: string
  port: number
  connections: number
  pipelining: number
  /** No byte from the server (or no connect) for this long with requests in flight: they fail as `timeout`. */
  timeoutMs: number
}

/** One read buffer for every connection of the process: `onread` callbacks parse it synchronously. */
let sharedReadBuffer: Buffer | undefined

class Connection<T> implements ResponseParserHandler {
  socket: net.Socket | undefined = undefined
  readonly parser = new ResponseParser(this)
  readonly ring: InFlight<T>[]
  first = 0
  count = 0
  /** performance.now() of the last read, or of the send that made the connection busy. */
  lastProgress = 0
  inFree = true
  /** A response arrived with nothing in flight: a protocol error. */
  unsolicited = false

  constructor(
    readonly pool: FastPool<T>,
    capacity: number,
  ) {
    this.ring = Array.from({ length: capacity }, () => ({
      tag: undefined as T,
      head: false,
      intended: 0,
      sentAt: 0,
    }))
  }

  bodiless(): boolean {
    return this.count > 0 && (this.ring[this.first] as InFlight<T>).head
  }

  onResponse(status: number, bodyBytes: number, keepAlive: boolean): void {
    if (this.count === 0) {
      this.unsolicited = true
      return
    }
    const x = this.ring[this.first] as InFlight<T>
    this.first = this.first + 1 === this.ring.length ? 0 : this.first + 1
    this.count--
    const pool = this.pool
    // Detach first: whatever the sink sends next goes on a new connection, not on one that is closing.
    const orphans = keepAlive ? undefined : this.detach()
    pool.freed(this)
    pool.sink.onResponse(x, status, bodyBytes, pool.now)
    if (orphans !== undefined) pool.failAll(orphans, 'reset')
  }

  send(tag: T, request: SerializedRequest, intended: number, now: number): void {
    let socket = this.socket
    if (socket === undefined) socket = this.connect()
    if (this.count === 0) this.lastProgress = now
    let i = this.first + this.count
    if (i >= this.ring.length) i -= this.ring.length
    const x = this.ring[i] as InFlight<T>
    x.tag = tag
    x.head = request.head
    x.intended = intended
    x.sentAt = now
    this.count++
    socket.write(request.bytes)
  }

  connect(): net.Socket {
    const pool = this.pool
    sharedReadBuffer ??= Buffer.allocUnsafe(65_536)
    this.parser.reset()
    const socket: net.Socket = net.connect({
      host: pool.options.host,
      port: pool.options.port,
      noDelay: true,
      onread: {
        buffer: sharedReadBuffer,
        callback: (nread: number, buf: Uint8Array): boolean => {
          if (this.socket !== socket) return false
          const now = performance.now()
          pool.now = now
          this.lastProgress = now
          const r = this.parser.execute(buf as Buffer, 0, nread)
          if (r === PARSE_ERROR || this.unsolicited) {
            this.unsolicited = false
            if (this.socket === socket) this.fail('other')
          }
          return true
        },
      },
    })
    socket.on('error', (err) => {
      if (this.socket === socket) this.fail(errorKindOf(err))
    })
    socket.on('end', () => {
      if (this.socket !== socket) return
      pool.now = performance.now()
      // A body delimited by the close ends here (and detaches); anything else still in flight was reset.
      this.parser.finish()
      if (this.socket === socket) this.fail('reset')
    })
    socket.on('close', () => {
      if (this.socket === socket) this.fail('reset')
    })
    this.socket = socket
    return socket
  }

  /** Drops the socket (destroyed) and returns copies of the requests that were in flight on it. */
  detach(): InFlight<T>[] {
    const socket = this.socket
    this.socket = undefined
    socket?.destroy()
    const out: InFlight<T>[] = []
    for (let k = 0; k < this.count; k++) {
      const x = this.ring[(this.first + k) % this.ring.length] as InFlight<T>
      out.push({ ...x })
    }
    this.first = 0
    this.count = 0
    return out
  }

  /** The connection failed: every request in flight on it fails with `kind`. */
  fail(kind: ErrorKind): void {
    const orphans = this.detach()
    this.pool.freed(this)
    this.pool.now = performance.now()
    this.pool.failAll(orphans, kind)
  }
}

/**
 * `connections` keep-alive connections to one `host:port`, each carrying up to `pipelining` requests. The
 * caller bounds what is in flight to `connections × pipelining` (the engine does); connections open lazily.
 */
export class FastPool<T> {
  readonly #connections: Connection<T>[]
  /** Connections with a free pipelining slot, the most recently freed last. */
  readonly #free: Connection<T>[] = []
  readonly #pipelining: number
  /** performance.now() of the read being processed. */
  now = 0

  constructor(
    readonly options: FastPoolOptions,
    readonly sink: FastPoolSink<T>,
  ) {
    this.#pipelining = options.pipelining
    this.#connections = Array.from(
      { length: options.connections },
      () => new Connection<T>(this, options.pipelining),
    )
    // Reversed so that the first connection is used first.
    for (let i = this.#connections.length - 1; i >= 0; i--)
      this.#free.push(this.#connections[i] as Connection<T>)
  }

  /** Requests in flight on every connection. */
  get inFlight(): number {
    let n = 0
    for (const c of this.#connections) n += c.count
    return n
  }

  /** Writes `request` on a connection with a free slot. Throws when every slot is taken (a caller's bug). */
  send(tag: T, request: SerializedRequest, intended: number, now: number): void {
    const c = this.#free[this.#free.length - 1]
    if (c === undefined) throw new Error('FastPool.send: every connection slot is busy')
    c.send(tag, request, intended, now)
    if (c.count >= this.#pipelining) {
      this.#free.pop()
      c.inFree = false
    }
  }

  /** @internal A connection has a free slot again. */
  freed(c: Connection<T>): void {
    if (!c.inFree) {
      c.inFree = true
      this.#free.push(c)
    }
  }

  /** @internal */
  failAll(orphans: InFlight<T>[], kind: ErrorKind): void {
    for (const x of orphans) this.sink.onError(x, kind, this.now)
  }

  /**
   * Fails as `timeout` the requests of every connection that has had requests in flight and no byte from the
   * server (nor a connect) for `timeoutMs`. The engine calls it periodically.
   */
  sweep(now: number): void {
    const limit = this.options.timeoutMs
    for (const c of this.#connections)
      if (c.count > 0 && now - c.lastProgress >= limit) {
        this.now = now
        c.fail('timeout')
      }
  }

  /** Destroys every socket; requests in flight are dropped without being reported. */
  destroy(): void {
    for (const c of this.#connections) {
      const socket = c.socket
      c.socket = undefined
      c.count = 0
      socket?.destroy()
    }
  }
}
