import { randomBytes } from 'node:crypto'
import { EventEmitter } from 'node:events'
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import type { Envelope } from '@dripdrop/codec'
import {
  type DecodeError,
  type RouteHost,
  type RouteSocket,
  type RouteSpec,
  TransportError,
} from '@dripdrop/core'
import { Queue } from '@dripdrop/core/internal'
import { type WebSocket, WebSocketServer } from 'ws'
import { formatAddress, listen, nonNegativeInt, parseBind, positiveInt } from '../address.js'
import { browserClientSource } from '../browser-client.js'
import { isPeerGone, NoConnectionError, WS_CLOSE } from '../errors.js'
import { runFallback } from '../http/http-server.js'
import { createServer, schemeOf, serverTls, type TlsServerOptions } from '../tls.js'
import { Connection, CORK_FLUSH_BYTES } from './connection.js'
import { type AuthorizeHook, judgeUpgrade, refuse } from './upgrade.js'
import { FrameCodec, frameSize, HELLO, SUBPROTOCOLS, type WsFormat, withoutStack } from './ws-frames.js'

/** Options of a `ws-server` route, beside core's route options. */
export interface WsServerOptions {
  /** Largest message (frame) accepted, in bytes; a larger one closes the connection with 1009. @default 1 MiB */
  maxMessageBytes?: number
  /** Bytes a connection may have waiting to be written before it is cut off as a slow consumer (4008). @default 4 MiB */
  maxPeerQueueBytes?: number
  /** Ping interval, in ms; a connection that missed the previous pong is terminated. 0 turns it off. @default 30000 */
  heartbeatIntervalMs?: number
  /** TLS: required with a `wss://` bind address, refused with `ws://`. @default undefined (plain) */
  tls?: TlsServerOptions
  /**
   * Allowed `Origin` values (browsers send it and cannot forge it; other clients can, so it is no
   * authentication): others are refused with 403 before the upgrade. Set it for any route browsers reach,
   * against cross-site WebSocket hijacking. @default any origin
   */
  origins?: readonly string[]
  /**
   * Runs before the upgrade; `false` refuses it with 401, an object accepts it and is carried in every message's
   * head as `$auth`. @default accept all
   */
  authorize?: AuthorizeHook
  /** Answer `GET /dripdrop-client.js` with the browser client. @default true */
  serveClient?: boolean
  /** Handles plain HTTP requests (not upgrades) on the same port, e.g. a page. @default 426 Upgrade Required */
  fallback?: (req: IncomingMessage, res: ServerResponse) => void
}

/** Events of {@link WsServerSocket}, namespaced with `:`. */
export interface WsServerEventMap {
  'connection:open': [connection: Connection]
  'connection:close': [connection: Connection, code: number, reason: string]
  'connection:error': [connection: Connection, error: Error]
  'connection:slow': [connection: Connection, bufferedBytes: number]
}

const PROCESS_TAG = randomBytes(3).toString('hex')
let connSeq = 0

/**
 * The `ws-server` route's socket: a `ws` server on its own node:http server. Each connection gets an id that
 * arrives in `head.$conn`; `route.send()` broadcasts, `route.sendTo(id | { group })` targets, and
 * {@link wsConnections} gives groups, counts and events.
 */
export class WsServerSocket extends EventEmitter<WsServerEventMap> implements RouteSocket {
  readonly replies = true
  #endpoints: string[] = []
  readonly #spec: RouteSpec
  readonly #host: RouteHost
  readonly #codec: FrameCodec
  readonly #maxPeerQueueBytes: number
  readonly #heartbeatMs: number
  readonly #origins: ReadonlySet<string> | undefined
  readonly #authorize: WsServerOptions['authorize']
  readonly #serveClient: boolean
  readonly #fallback: WsServerOptions['fallback']
  readonly #path: string
  readonly #server: Server
  readonly #wss: WebSocketServer
  readonly #scheme: 'ws' | 'wss'
  readonly #conns = new Map<string, Connection>()
  readonly #groups = new Map<string, Set<Connection>>()
  readonly #stacks: boolean
  #heartbeat: NodeJS.Timeout | undefined
  #closing = false
  #closed: Promise<void> | undefined
  /** Connections cut off for being slow consumers. */
  slowConsumers = 0
  /** Connections terminated for missing a pong. */
  heartbeatTimeouts = 0

  constructor(spec: RouteSpec, host: RouteHost) {
    super()
    const o = spec.options as WsServerOptions
    const path = `route "${spec.name}": options`
    if (spec.connect.length > 0 || spec.bind.length !== 1) {
      throw new TypeError(`${path}.bind: a ws-server route binds exactly one ws:// address`)
    }
    this.#path = parseBind(spec.bind[0], ['ws', 'wss']).path
    const tls = serverTls(o.tls, schemeOf(spec.bind[0]), 'wss', path)
    this.#scheme = tls === undefined ? 'ws' : 'wss'
    this.#spec = spec
    this.#host = host
    const maxPayload = positiveInt(o.maxMessageBytes, 1024 * 1024, `${path}.maxMessageBytes`)
    this.#codec = new FrameCodec(maxPayload)
    this.#stacks = spec.options.exposeErrorStacks === true
    this.#maxPeerQueueBytes = positiveInt(o.maxPeerQueueBytes, 4 * 1024 * 1024, `${path}.maxPeerQueueBytes`)
    this.#heartbeatMs = nonNegativeInt(o.heartbeatIntervalMs, 30_000, `${path}.heartbeatIntervalMs`)
    if (
      o.origins !== undefined &&
      (!Array.isArray(o.origins) || o.origins.some((x) => typeof x !== 'string'))
    ) {
      throw new TypeError(`${path}.origins must be an array of origins like "https://example.com"`)
    }
    this.#origins = o.origins ? new Set(o.origins) : undefined
    for (const k of ['authorize', 'fallback'] as const) {
      if (o[k] !== undefined && typeof o[k] !== 'function')
        throw new TypeError(`${path}.${k} must be a function`)
    }
    this.#authorize = o.authorize
    this.#fallback = o.fallback
    this.#serveClient = o.serveClient !== false
    this.#wss = new WebSocketServer({
      noServer: true,
      maxPayload,
      // Compression costs CPU per message and lets a small frame inflate: off, as for most message buses.
      perMessageDeflate: false,
      handleProtocols: (offered) =>
        offered.has(SUBPROTOCOLS.msgpack)
          ? SUBPROTOCOLS.msgpack
          : offered.has(SUBPROTOCOLS.json)
            ? SUBPROTOCOLS.json
            : false,
    })
    this.#server = createServer(tls, {}, this.#onRequest)
    this.#server.on('tlsClientError', (err: Error) =>
      this.#host.emit({
        type: 'error',
        error: new TransportError(`TLS handshake failed: ${err.message}`, err),
      }),
    )
    this.#server.on('upgrade', this.#onUpgrade)
    this.#server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
      if (isPeerGone(err)) this.#host.stats.aborted++
      else {
        this.#host.emit({ type: 'error', error: new TransportError(`bad HTTP request: ${err.message}`, err) })
      }
      refuse(socket as Socket, 400)
    })
    registry.set(host.route, this)
  }

  get endpoints(): readonly string[] {
    return this.#endpoints
  }

  /** Open connections now. */
  get size(): number {
    return this.#conns.size
  }

  /** Ids of the open connections. */
  ids(): string[] {
    return [...this.#conns.keys()]
  }

  /** The connection with this id, if open. */
  get(id: string): Connection | undefined {
    return this.#conns.get(id)
  }

  async start(): Promise<void> {
    const { host, port, path } = parseBind(this.#spec.bind[0], ['ws', 'wss'])
    await listen(this.#server, host, port, this.#spec.bind[0])
    this.#endpoints = [formatAddress(this.#scheme, host, (this.#server.address() as AddressInfo).port, path)]
    if (this.#heartbeatMs > 0) {
      this.#heartbeat = setInterval(this.#beat, this.#heartbeatMs)
      this.#heartbeat.unref()
    }
    this.#host.emit({ type: 'listening', endpoint: this.#endpoints[0] })
  }

  // ---- upgrade and connections ----

  readonly #onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    try {
      this.#answer(req, res)
    } catch (err) {
      // The outermost handler of a network callback: nothing a request holds may end the process.
      this.#host.emit({
        type: 'error',
        error: new TransportError(`bad HTTP request: ${(err as Error)?.message}`, err),
      })
      if (!res.headersSent) res.writeHead(400, { connection: 'close', 'content-length': 0 })
      res.end()
    }
  }

  #answer(req: IncomingMessage, res: ServerResponse): void {
    if (this.#serveClient && req.method === 'GET' && req.url?.split('?')[0] === '/dripdrop-client.js') {
      res.writeHead(200, {
        'content-type': 'text/javascript; charset=utf-8',
        'access-control-allow-origin': '*',
      })
      res.end(browserClientSource())
      return
    }
    if (this.#fallback) {
      runFallback(this.#fallback, req, res, this.#host)
      return
    }
    res.writeHead(426, { 'content-type': 'text/plain', upgrade: 'websocket' })
    res.end('this is a dripdrop WebSocket endpoint')
  }

  // The outermost handler of every upgrade catches, synchronously and in its promise: one malformed request
  // line (`GET //[`) once ended the whole process through an unhandled rejection (issue 8).
  readonly #onUpgrade = (req: IncomingMessage, socket: Socket, head: Buffer): void => {
    socket.on('error', () => socket.destroy())
    if (this.#closing) {
      refuse(socket, 503)
      return
    }
    judgeUpgrade(req, this.#path, this.#origins, this.#authorize)
      .then((verdict) => {
        if (typeof verdict === 'number') this.#refuse(req, socket, head, verdict)
        else if (this.#closing || socket.destroyed) socket.destroy()
        else {
          this.#wss.handleUpgrade(req, socket, head, (ws) => {
            try {
              this.#onConnection(ws, req, verdict.auth)
            } catch (err) {
              this.#upgradeFailed(socket, err)
            }
          })
        }
      })
      .catch((err: unknown) => this.#upgradeFailed(socket, err))
  }

  // A browser's WebSocket never sees the status of a refused upgrade (only a 1006 close), so a client that
  // offers a dripdrop sub-protocol is refused inside the protocol: the upgrade, then at once a close frame
  // 4401 or 4403 and no message. Other clients get the bare HTTP status.
  #refuse(req: IncomingMessage, socket: Socket, head: Buffer, status: number): void {
    if ((status !== 401 && status !== 403) || !offersDripdrop(req) || this.#closing || socket.destroyed) {
      refuse(socket, status)
      return
    }
    this.#wss.handleUpgrade(req, socket, head, (ws) => {
      ws.on('error', () => ws.terminate())
      ws.close(
        status === 401 ? WS_CLOSE.UNAUTHORIZED : WS_CLOSE.FORBIDDEN,
        status === 401 ? 'unauthorized' : 'forbidden',
      )
      setTimeout(() => ws.terminate(), 1000).unref()
    })
  }

  #upgradeFailed(socket: Socket, err: unknown): void {
    this.#host.emit({
      type: 'error',
      error: new TransportError(`WebSocket upgrade failed: ${(err as Error)?.message}`, err),
    })
    refuse(socket, 400)
  }

  #onConnection(ws: WebSocket, req: IncomingMessage, auth: Connection['auth']): void {
    const id = `${PROCESS_TAG}-${++connSeq}`
    const format: WsFormat = ws.protocol === SUBPROTOCOLS.msgpack ? 'msgpack' : 'json'
    const conn = new Connection(id, ws, format, `${req.socket.remoteAddress}:${req.socket.remotePort}`, auth)
    this.#conns.set(id, conn)
    ws.on('message', (data, isBinary) => {
      // The outermost handler of every frame catches: a throw here would escape through ws's socket reader.
      try {
        this.#onMessage(conn, data as Buffer, isBinary)
      } catch (err) {
        this.#host.emit({
          type: 'error',
          error: new TransportError(`connection ${id}: ${(err as Error)?.message}`, err),
          endpoint: id,
        })
      }
    })
    ws.on('pong', () => {
      conn.alive = true
    })
    ws.on('error', (err: NodeJS.ErrnoException) => {
      // A reset is a client that went away: counted as aborted when the connection closes, not as an error.
      if (isPeerGone(err)) return
      // ws reports oversized frames (1009) and protocol violations here, then closes the connection.
      this.#host.emit({
        type: 'error',
        error: new TransportError(`connection ${id}: ${err.message}`, err),
        endpoint: id,
      })
      this.emit('connection:error', conn, err)
    })
    ws.on('close', (code, reason) => {
      // 1006: the connection dropped without a close frame. Ours (a cut-off, a missed heartbeat) set
      // `closing` first; anything else is the client going away.
      if (code === 1006 && conn.state === 'open') this.#host.stats.aborted++
      conn.state = 'closed'
      this.#conns.delete(id)
      for (const g of conn.groups) this.#leaveGroup(conn, g)
      this.#host.emit({ type: 'disconnect', endpoint: id })
      this.emit('connection:close', conn, code, reason.toString())
    })
    this.#write(conn, { name: HELLO, head: { $conn: id }, body: null }, undefined)
    this.#host.emit({ type: 'connect', endpoint: id })
    this.emit('connection:open', conn)
  }

  #onMessage(conn: Connection, data: Buffer, isBinary: boolean): void {
    conn.alive = true
    this.#host.stats.bytesIn += data.byteLength
    let decoded: Envelope | Envelope[]
    try {
      decoded = this.#codec.decode(data, isBinary)
    } catch (err) {
      // Garbage from one client is counted and reported; the connection and the process go on.
      this.#host.emit({ type: 'error', error: err as DecodeError, endpoint: conn.id })
      return
    }
    conn.format = isBinary ? 'msgpack' : 'json'
    if (Array.isArray(decoded)) {
      this.#host.stats.batchesIn++
      for (const e of decoded) this.#deliver(conn, e)
    } else this.#deliver(conn, decoded)
  }

  #deliver(conn: Connection, envelope: Envelope): void {
    // The server sets these: a client cannot claim another connection's id or identity.
    envelope.head.$conn = conn.id
    if (conn.auth) envelope.head.$auth = conn.auth
    else if (envelope.head.$auth !== undefined) delete envelope.head.$auth
    if (conn.held !== undefined) {
      // Frames ws had already read when the socket was paused: they wait their turn here.
      conn.held.push(envelope)
      return
    }
    this.#handOver(conn, envelope)
  }

  #handOver(conn: Connection, envelope: Envelope): void {
    const wait = this.#host.receive(envelope, conn)
    if (wait === undefined) return
    // Handlers are saturated: stop reading from this client until a slot frees (TCP pushes back on it).
    conn.held ??= new Queue<Envelope>()
    conn.ws.pause()
    const next = () => this.#release(conn)
    wait.then(next, next)
  }

  #release(conn: Connection): void {
    const held = conn.held!
    conn.held = undefined
    while (held.length > 0) {
      this.#handOver(conn, held.shift())
      // #handOver sets conn.held again when the route is saturated again.
      const again = conn.held as Queue<Envelope> | undefined
      if (again !== undefined) {
        // What is left goes back in front of anything read later.
        for (const e of held) again.push(e)
        return
      }
    }
    if (conn.state !== 'closed') conn.ws.resume()
  }

  // ---- sending ----

  /** Broadcast to every open connection. */
  send(envelope: Envelope): void {
    const frames: Partial<Record<WsFormat, string | Uint8Array>> = {}
    for (const conn of this.#conns.values()) this.#write(conn, envelope, frames)
  }

  /** To one connection (a `Connection`, its id) or to a group (`{ group: 'room-1' }`). */
  sendTo(to: unknown, envelope: Envelope): void | Promise<void> {
    if (to instanceof Connection) {
      if (to.state !== 'open') {
        this.#host.stats.dropped++ // a reply to a client that left: nowhere to go
        return
      }
      this.#write(to, envelope, undefined)
      return
    }
    if (typeof to === 'string') {
      const conn = this.#conns.get(to)
      if (conn === undefined) return Promise.reject(new NoConnectionError(to))
      this.#write(conn, envelope, undefined)
      return
    }
    const group = (to as { group?: unknown } | null)?.group
    if (typeof group === 'string') {
      const frames: Partial<Record<WsFormat, string | Uint8Array>> = {}
      for (const conn of this.#groups.get(group) ?? []) this.#write(conn, envelope, frames)
      return
    }
    return Promise.reject(new TypeError('sendTo needs a connection id, a Connection or { group }'))
  }

  // Encodes once per format per broadcast; cuts off a connection whose unsent bytes pass the bound.
  #write(
    conn: Connection,
    envelope: Envelope,
    frames: Partial<Record<WsFormat, string | Uint8Array>> | undefined,
  ): void {
    if (conn.state !== 'open') return
    if (!this.#stacks && envelope.head.$err === true) envelope = withoutStack(envelope)
    const format = conn.format
    let frame = frames?.[format]
    if (frame === undefined) {
      frame = this.#codec.encode(envelope, format)
      if (frames) frames[format] = frame
    }
    const buffered = conn.ws.bufferedAmount
    if (buffered + frameSize(frame) > this.#maxPeerQueueBytes) {
      this.#cutOff(conn, buffered)
      return
    }
    this.#host.stats.bytesOut += frameSize(frame)
    if (!conn.corked) conn.cork()
    conn.ws.send(frame)
    // A long burst to one connection in one tick (a broadcast loop) flushes every 16 KiB: the corked bytes would
    // otherwise count as unsent and make a fast reader look like a slow consumer.
    if (conn.corked && conn.ws.bufferedAmount >= CORK_FLUSH_BYTES) conn.uncork()
  }

  #cutOff(conn: Connection, buffered: number): void {
    this.slowConsumers++
    this.#host.stats.dropped++
    conn.state = 'closing'
    this.emit('connection:slow', conn, buffered)
    conn.ws.close(WS_CLOSE.SLOW_CONSUMER, 'slow consumer')
    // The close frame queues behind the unsent bytes; if they do not drain soon, free them now.
    setTimeout(() => conn.ws.terminate(), 1000).unref()
  }

  readonly #beat = (): void => {
    for (const conn of this.#conns.values()) {
      if (!conn.alive) {
        this.heartbeatTimeouts++
        conn.state = 'closing'
        conn.ws.terminate()
        continue
      }
      conn.alive = false
      conn.ws.ping()
    }
  }

  // ---- groups ----

  /** Adds a connection to a group (created on first join). Unknown ids are a `DD_ERR_WS_NO_CONNECTION`. */
  join(id: string, group: string): void {
    const conn = this.#conns.get(id)
    if (conn === undefined) throw new NoConnectionError(id)
    conn.groups.add(group)
    let members = this.#groups.get(group)
    if (members === undefined) this.#groups.set(group, (members = new Set()))
    members.add(conn)
  }

  /** Removes a connection from a group (a group with no members is forgotten). */
  leave(id: string, group: string): void {
    const conn = this.#conns.get(id)
    if (conn) this.#leaveGroup(conn, group)
  }

  /** Ids of a group's members. */
  members(group: string): string[] {
    return [...(this.#groups.get(group) ?? [])].map((c) => c.id)
  }

  #leaveGroup(conn: Connection, group: string): void {
    conn.groups.delete(group)
    const members = this.#groups.get(group)
    members?.delete(conn)
    if (members?.size === 0) this.#groups.delete(group)
  }

  /** Closes one connection (code 4000 unless given). */
  disconnect(id: string, code: number = WS_CLOSE.APPLICATION, reason = ''): void {
    const conn = this.#conns.get(id)
    if (conn === undefined) return
    conn.state = 'closing'
    conn.ws.close(code, reason)
  }

  // ---- lifecycle ----

  /** Closes every connection (1001), waits up to `lingerMs` for their close frames. A second call returns the same promise. */
  close(lingerMs: number): Promise<void> {
    this.#closed ??= this.#close(lingerMs)
    return this.#closed
  }

  async #close(lingerMs: number): Promise<void> {
    this.#closing = true
    clearInterval(this.#heartbeat)
    const serverClosed = new Promise<void>((resolve) => this.#server.close(() => resolve()))
    this.#server.closeIdleConnections()
    if (this.#conns.size > 0) {
      const all = [...this.#conns.values()]
      const closed = Promise.all(
        all.map(
          (c) => new Promise<void>((r) => (c.state === 'closed' ? r() : c.ws.once('close', () => r()))),
        ),
      )
      for (const c of all) {
        c.state = 'closing'
        c.ws.close(WS_CLOSE.GOING_AWAY, 'server closing')
      }
      let timer: NodeJS.Timeout | undefined
      await Promise.race([closed, new Promise<void>((r) => (timer = setTimeout(r, Math.max(lingerMs, 100))))])
      clearTimeout(timer)
      for (const c of this.#conns.values()) c.ws.terminate()
    }
    this.#server.closeAllConnections()
    await serverClosed
  }

  /** Terminates every connection at once; returns how many envelopes read but not yet handed over were dropped. */
  destroy(): number {
    this.#closing = true
    clearInterval(this.#heartbeat)
    let dropped = 0
    for (const c of this.#conns.values()) {
      c.state = 'closing'
      if (c.held !== undefined) dropped += c.held.clear()
      c.ws.terminate()
    }
    this.#server.close()
    this.#server.closeAllConnections()
    return dropped
  }
}

const registry = new WeakMap<object, WsServerSocket>()

function offersDripdrop(req: IncomingMessage): boolean {
  const offered = req.headers['sec-websocket-protocol']
  if (offered === undefined) return false
  return offered.split(',').some((p) => {
    const name = p.trim()
    return name === SUBPROTOCOLS.json || name === SUBPROTOCOLS.msgpack
  })
}

/**
 * The connections of a `ws-server` route: groups, counts, one-off closes and connection events.
 *
 * @example
 * ```ts
 * const browsers = node.route('browsers', { type: 'ws-server', bind: 'ws://127.0.0.1:0' })
 * const conns = wsConnections(browsers)
 * conns.on('connection:open', (c) => conns.join(c.id, 'lobby'))
 * browsers.on('chat.say', ({ body }) => browsers.sendTo({ group: 'lobby' }, 'chat.said', body))
 * ```
 */
export function wsConnections(route: object): WsServerSocket {
  const socket = registry.get(route)
  if (socket === undefined) throw new TypeError('wsConnections() needs a ws-server route')
  return socket
}
